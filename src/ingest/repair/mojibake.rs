//! UTF-8 text that was decoded as GBK somewhere upstream: `文件` became `鏂囦欢`. Re-encoding
//! such a run as GBK gives back the UTF-8 bytes exactly, so the reversal is proven lossless
//! when the re-encoded bytes are valid UTF-8 and read far better than the run did. A run
//! that lost bytes (an odd byte count that ended in `?` or U+FFFD) does not round-trip and is
//! left alone.
//!
//! `锟斤拷` is what two U+FFFD look like after the same mistake: the characters were lost
//! before the file reached us. It is flagged, not guessed.

use encoding_rs::GBK;

use super::RepairLog;
use crate::lang::lexicon;
use crate::model::{RepairKind, WarningKind};

pub fn reverse_utf8_as_gbk(text: &str, log: &mut RepairLog) -> String {
    let lost = text.matches("锟斤拷").count();
    if lost > 0 {
        log.warn(
            WarningKind::UnrecoverableLoss,
            format!("`锟斤拷` occurs {lost} times: characters were replaced before the file was saved and cannot be recovered"),
        );
    }
    let mut out = String::with_capacity(text.len());
    let mut reversed = 0;
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| !c.is_ascii()) {
        out.push_str(&rest[..start]);
        let run_len = rest[start..]
            .find(|c: char| c.is_ascii())
            .unwrap_or(rest.len() - start);
        let run = &rest[start..start + run_len];
        match reversal(run) {
            Some(fixed) => {
                out.push_str(&fixed);
                reversed += 1;
            }
            None => out.push_str(run),
        }
        rest = &rest[start + run_len..];
    }
    out.push_str(rest);
    log.add(RepairKind::Utf8AsGbkReversed, reversed);
    out
}

/// Characters of a run judged before it is re-encoded.
const PLAUSIBILITY_PREFIX: usize = 48;

/// Characters whose GBK lead byte is one a UTF-8 lead byte of CJK text can be (E3–E9 for
/// U+3000–U+9FFF, EF for full-width forms), as a bitset over the BMP. In GBK-decoded UTF-8 at
/// least one character in three is one of them; in genuine text they are rare (those rows of
/// GBK hold uncommon characters).
static FROM_UTF8_LEADS: std::sync::LazyLock<Vec<u64>> = std::sync::LazyLock::new(|| {
    let mut bits = vec![0u64; 0x10000 / 64];
    for lead in (0xE3u8..=0xE9).chain(std::iter::once(0xEF)) {
        for trail in (0x40u8..=0x7E).chain(0x80..=0xFE) {
            if let Some(text) = encoding_rs::GB18030
                .decode_without_bom_handling_and_without_replacement(&[lead, trail])
                && let Some(c) = text.chars().next()
                && (c as u32) < 0x10000
            {
                bits[c as usize / 64] |= 1 << (c as usize % 64);
            }
        }
    }
    bits
});

fn from_utf8_lead(c: char) -> bool {
    let code = c as usize;
    code < 0x10000 && FROM_UTF8_LEADS[code / 64] & (1 << (code % 64)) != 0
}

/// The UTF-8 text behind `run`, if `run` is GBK-decoded UTF-8.
fn reversal(run: &str) -> Option<String> {
    // A cheap necessary condition first: enough characters from the rows UTF-8 lead bytes
    // land in. Ordinary text fails it at once.
    let (sampled, leads) = run
        .chars()
        .take(PLAUSIBILITY_PREFIX)
        .fold((0usize, 0usize), |(n, l), c| {
            (n + 1, l + usize::from(from_utf8_lead(c)))
        });
    if sampled < 2 || leads * 4 < sampled {
        return None;
    }
    // Genuine Chinese reads well already (mostly everyday characters); mojibake does not, from
    // its first characters on. Judging a prefix first spares re-encoding ordinary text.
    let head: Vec<char> = run.chars().take(PLAUSIBILITY_PREFIX).collect();
    if head.len() < 2 || lexicon::plausibility(&head) >= head.len() as i32 || run.contains("锟斤拷")
    {
        return None;
    }
    // Only characters GBK can hold can have come from GBK decoding; a U+FFFD or similar ends
    // the candidate run.
    let encodable: String = run
        .chars()
        .take_while(|c| !GBK.encode(c.encode_utf8(&mut [0; 4])).2)
        .collect();
    let run_tail = &run[encodable.len()..];
    let run = encodable.as_str();
    let (bytes, _, _) = GBK.encode(run);
    // A run that lost its last byte (odd length) is reversed up to the last character that
    // re-encodes completely; the damaged tail stays as it is.
    let (prefix_chars, prefix_bytes) = lossless_prefix(run, &bytes)?;
    let original = std::str::from_utf8(&bytes[..prefix_bytes]).ok()?;
    if original.chars().any(|c| c.is_control() || c == '\u{FFFD}') {
        return None;
    }
    let before: Vec<char> = run.chars().take(prefix_chars).collect();
    let after: Vec<char> = original.chars().collect();
    let gain = lexicon::plausibility(&after) - lexicon::plausibility(&before);
    let needed = (before.len() as i32 / 2).max(4);
    let tail: String = run.chars().skip(prefix_chars).collect();
    (gain >= needed).then(|| format!("{original}{tail}{run_tail}"))
}

/// The longest prefix of `run` (in characters, and in its GBK bytes) whose bytes are complete
/// UTF-8.
fn lossless_prefix(run: &str, bytes: &[u8]) -> Option<(usize, usize)> {
    let valid = match std::str::from_utf8(bytes) {
        Ok(_) => return Some((run.chars().count(), bytes.len())),
        Err(e) => e.valid_up_to(),
    };
    // Genuine Chinese re-encoded as GBK is not UTF-8 beyond a byte or two.
    if valid < 6 {
        return None;
    }
    let utf8 = std::str::from_utf8(&bytes[..valid]).ok()?;
    let mut boundary = None;
    let mut offset = 0;
    for (n, c) in run.chars().enumerate() {
        let mut buf = [0; 4];
        offset += GBK.encode(c.encode_utf8(&mut buf)).0.len();
        if offset > valid {
            break;
        }
        if utf8.is_char_boundary(offset) {
            boundary = Some((n + 1, offset));
        }
    }
    boundary.filter(|&(chars, _)| chars >= 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mojibake(text: &str) -> String {
        encoding_rs::GBK
            .decode_without_bom_handling(text.as_bytes())
            .0
            .into_owned()
    }

    #[test]
    fn utf8_read_as_gbk_is_reversed() {
        let original = "关于印发上海市文件管理办法的通知";
        let damaged = mojibake(original);
        assert_ne!(damaged, original);
        let mut log = RepairLog::default();
        assert_eq!(reverse_utf8_as_gbk(&damaged, &mut log), original);
        assert_eq!(log.count(RepairKind::Utf8AsGbkReversed), 1);
    }

    #[test]
    fn an_odd_tail_keeps_its_damage() {
        let damaged = mojibake("关于印发文件的通知");
        let mut log = RepairLog::default();
        let fixed = reverse_utf8_as_gbk(&damaged, &mut log);
        assert!(fixed.starts_with("关于印发文件的通"), "{fixed}");
        assert_eq!(log.count(RepairKind::Utf8AsGbkReversed), 1);
    }

    #[test]
    fn genuine_text_and_loss_are_left() {
        let mut log = RepairLog::default();
        let text = "浦東新區人民政府辦公室 鏂 2010年";
        assert_eq!(reverse_utf8_as_gbk(text, &mut log), text);
        assert_eq!(log.total(), 0);
        let lossy = "锟斤拷锟斤拷文件";
        assert_eq!(reverse_utf8_as_gbk(lossy, &mut log), lossy);
        assert_eq!(log.warnings[0].kind, WarningKind::UnrecoverableLoss);
    }
}
