//! Bytes → text. The order of evidence: a byte-order mark; bytes that are valid UTF-8; a
//! charset the file declares (HTML `<meta>`, XML declaration) when the bytes agree with it;
//! an encoding named in the file name (`通知_big5.txt`, `gbk/…`) when the bytes mostly agree;
//! UTF-16 without a BOM and HZ, recognised by their structure; lines that are partly UTF-8;
//! then chardetng's guess, checked against GB18030 and Big5 by how plausible the decoded text
//! is as Chinese.
//!
//! GBK and GB2312 are decoded as GB18030 (a superset), and the encoding reported is the
//! smallest of the three that the bytes fit. Every replacement character the decoder had to
//! produce is counted.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{BIG5, Encoding, GB18030, UTF_8, UTF_16BE, UTF_16LE};

use crate::lang::lexicon;
use crate::model::EncodingSource;

/// How many leading bytes the detectors look at: enough to guess, cheap to scan.
const SNIFF_BYTES: usize = 64 * 1024;

/// Decoded text and how it was decoded.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub text: String,
    /// The encoding's name as researchers know it: `UTF-8`, `GBK`, `Big5`, `UTF-16LE` …
    pub encoding: String,
    pub source: EncodingSource,
    /// Replacement characters the decoder produced for malformed bytes.
    pub replacements: usize,
    /// Length of the byte-order mark, if any: byte offsets in the source start after it.
    pub bom_len: usize,
    /// The encoding the text can be re-encoded with to find byte offsets in the source.
    pub codec: Codec,
    /// A charset the file declared but which its bytes contradict.
    pub ignored_declaration: Option<String>,
}

/// The decoder used, kept so that character positions can be mapped back to source bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Whatwg(&'static Encoding),
    Hz,
    /// UTF-8 and a legacy encoding line by line: positions in the source are not recoverable
    /// from the text alone.
    Mixed,
}

/// Why bytes could not be decoded as text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Zero bytes, or only whitespace.
    #[error("the file is empty")]
    Empty,
    /// A known binary format or bytes that are not text in any supported encoding.
    #[error("not a text document: {0}")]
    Binary(String),
}

/// Decodes `bytes`, the content of the file called `file_name`.
pub fn decode(bytes: &[u8], file_name: &str) -> Result<Decoded, DecodeError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(DecodeError::Empty);
    }
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        return Ok(finish(
            encoding,
            &bytes[bom_len..],
            EncodingSource::Bom,
            bom_len,
        ));
    }
    if let Some(format) = binary_format(bytes) {
        return Err(DecodeError::Binary(format.to_string()));
    }
    if let Some(encoding) = utf16_without_bom(bytes) {
        return Ok(finish(encoding, bytes, EncodingSource::Guessed, 0));
    }
    if has_nul_or_controls(bytes) {
        return Err(DecodeError::Binary(
            "control bytes that no text encoding produces".to_string(),
        ));
    }
    if std::str::from_utf8(bytes).is_ok() {
        if let Some(text) = decode_hz(bytes) {
            return Ok(Decoded {
                text,
                encoding: "HZ-GB-2312".to_string(),
                source: EncodingSource::Guessed,
                replacements: 0,
                bom_len: 0,
                codec: Codec::Hz,
                ignored_declaration: None,
            });
        }
        return Ok(finish(UTF_8, bytes, EncodingSource::Valid, 0));
    }
    let declared = declared_charset(bytes);
    if let Some(encoding) = declared
        && encoding != UTF_8
        && decodes_cleanly(encoding, bytes)
    {
        return Ok(finish(encoding, bytes, EncodingSource::Declared, 0));
    }
    if let Some(encoding) = named_in_file_name(file_name)
        && mostly_decodes(encoding, bytes)
    {
        return Ok(finish(encoding, bytes, EncodingSource::Declared, 0));
    }
    if let Some(mixed) = decode_mixed_lines(bytes) {
        return Ok(mixed);
    }
    let mut decoded = finish(guess(bytes), bytes, EncodingSource::Guessed, 0);
    decoded.ignored_declaration = declared.map(|e| e.name().to_string());
    Ok(decoded)
}

fn finish(
    encoding: &'static Encoding,
    bytes: &[u8],
    source: EncodingSource,
    bom_len: usize,
) -> Decoded {
    let (text, _) = encoding.decode_without_bom_handling(bytes);
    let replacements = text
        .matches('\u{FFFD}')
        .count()
        .saturating_sub(literal_replacements(encoding, bytes));
    Decoded {
        encoding: encoding_name(encoding, bytes),
        text: text.into_owned(),
        source,
        replacements,
        bom_len,
        codec: Codec::Whatwg(encoding),
        ignored_declaration: None,
    }
}

/// U+FFFD characters that the file itself contains, encoded: they are text, not decode errors.
fn literal_replacements(encoding: &'static Encoding, bytes: &[u8]) -> usize {
    let (pattern, step): (&[u8], usize) = match encoding {
        e if e == UTF_8 => (&[0xEF, 0xBF, 0xBD], 1),
        e if e == UTF_16LE => (&[0xFD, 0xFF], 2),
        e if e == UTF_16BE => (&[0xFF, 0xFD], 2),
        e if e == GB18030 => (&[0x84, 0x31, 0xA4, 0x37], 1),
        _ => return 0,
    };
    bytes
        .windows(pattern.len())
        .step_by(step)
        .filter(|w| *w == pattern)
        .count()
}

/// A Chinese encoding named by a word of the file name or its folder (`通知_big5.txt`).
fn named_in_file_name(file_name: &str) -> Option<&'static Encoding> {
    const LABELS: &[&str] = &[
        "gbk",
        "gb2312",
        "gb18030",
        "big5",
        "big5-hkscs",
        "cp936",
        "cp950",
    ];
    let lower = file_name.to_ascii_lowercase();
    let mut words = lower.split(|c: char| !c.is_ascii_alphanumeric() && c != '-');
    let label = words.rfind(|w| LABELS.contains(w))?;
    Encoding::for_label(label.as_bytes()).map(|e| if e == encoding_rs::GBK { GB18030 } else { e })
}

/// At most one malformed sequence per hundred bytes.
fn mostly_decodes(encoding: &'static Encoding, bytes: &[u8]) -> bool {
    let (text, _) = encoding.decode_without_bom_handling(bytes);
    text.matches('\u{FFFD}').count() * 100 <= bytes.len().max(1) * 2
}

/// A file whose lines are partly UTF-8 and partly a legacy encoding (two files concatenated,
/// or a UTF-8 editor appending to a GBK file): each line is decoded on its own, so neither
/// half turns into mojibake.
fn decode_mixed_lines(bytes: &[u8]) -> Option<Decoded> {
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    let is_utf8 = |line: &[u8]| std::str::from_utf8(line).is_ok();
    // A line of legacy bytes can be valid UTF-8 by chance when it is short; three or more
    // multi-byte characters in a row are not chance.
    let clearly_utf8 = |line: &[u8]| {
        std::str::from_utf8(line).is_ok_and(|s| s.chars().filter(|c| !c.is_ascii()).count() >= 3)
    };
    let utf8_lines = lines.iter().filter(|l| clearly_utf8(l)).count();
    if utf8_lines < 2 {
        return None;
    }
    let legacy: Vec<u8> = lines
        .iter()
        .filter(|l| !is_utf8(l))
        .flat_map(|l| l.iter().copied())
        .collect();
    let encoding = guess(&legacy);
    if !decodes_cleanly(encoding, &legacy) {
        return None;
    }
    let text: String = lines
        .iter()
        .map(|line| match std::str::from_utf8(line) {
            Ok(utf8) => std::borrow::Cow::Borrowed(utf8),
            Err(_) => encoding.decode_without_bom_handling(line).0,
        })
        .collect();
    Some(Decoded {
        text,
        encoding: format!("UTF-8+{}", encoding_name(encoding, &legacy)),
        source: EncodingSource::Guessed,
        replacements: 0,
        bom_len: 0,
        codec: Codec::Mixed,
        ignored_declaration: None,
    })
}

/// Magic numbers of formats people put beside text documents.
fn binary_format(bytes: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"%PDF", "a PDF file (extract its text first)"),
        (b"PK\x03\x04", "a ZIP archive or an Office document"),
        (b"\xD0\xCF\x11\xE0", "an old Office document (.doc/.xls)"),
        (b"\x89PNG", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"\x1F\x8B", "a gzip archive"),
        (b"Rar!", "a RAR archive"),
        (b"7z\xBC\xAF", "a 7-Zip archive"),
        (b"\x7FELF", "an executable"),
        (b"{\\rtf", "an RTF document"),
    ];
    MAGIC
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
        .map(|(_, what)| *what)
}

/// NUL bytes or many C0 control bytes: no 8-bit text encoding produces them.
fn has_nul_or_controls(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(SNIFF_BYTES)];
    let controls = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0C | 0x1B))
        .count();
    sample.contains(&0) || controls * 100 > sample.len()
}

/// UTF-16 without a BOM: one byte of most code units is zero (ASCII), or the code units are
/// mostly CJK and the text is far more plausible than as GB18030.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    if bytes.len() < 4 || !bytes.len().is_multiple_of(2) {
        return None;
    }
    let sample = &bytes[..bytes.len().min(SNIFF_BYTES) & !1];
    let units = sample.len() / 2;
    let zero_even = sample.iter().step_by(2).filter(|&&b| b == 0).count();
    let zero_odd = sample
        .iter()
        .skip(1)
        .step_by(2)
        .filter(|&&b| b == 0)
        .count();
    let candidate = if zero_odd * 5 >= units && zero_even * 50 < units {
        Some(UTF_16LE)
    } else if zero_even * 5 >= units && zero_odd * 50 < units {
        Some(UTF_16BE)
    } else {
        None
    };
    if let Some(encoding) = candidate {
        return decodes_cleanly(encoding, sample).then_some(encoding);
    }
    if std::str::from_utf8(bytes).is_ok() {
        return None;
    }
    let as_gb = plausibility_of(GB18030, sample);
    [UTF_16LE, UTF_16BE].into_iter().find(|&encoding| {
        decodes_cleanly(encoding, sample) && share(encoding, sample, is_cjk, |_| true) > 0.8 && {
            plausibility_of(encoding, sample) > as_gb + (units as i32 / 2)
        }
    })
}

/// The share of the decoded characters that are `counted`, among those that are `among`.
fn share(
    encoding: &'static Encoding,
    bytes: &[u8],
    counted: fn(char) -> bool,
    among: fn(char) -> bool,
) -> f64 {
    let (text, _) = encoding.decode_without_bom_handling(bytes);
    let total = text.chars().filter(|&c| among(c)).count().max(1);
    text.chars().filter(|&c| counted(c)).count() as f64 / total as f64
}

fn is_cjk(c: char) -> bool {
    crate::lang::fold::is_han(c) || crate::lang::fold::is_cjk_punct(c)
}

fn plausibility_of(encoding: &'static Encoding, bytes: &[u8]) -> i32 {
    let (text, _) = encoding.decode_without_bom_handling(bytes);
    let chars: Vec<char> = text.chars().collect();
    lexicon::plausibility(&chars)
}

fn decodes_cleanly(encoding: &'static Encoding, bytes: &[u8]) -> bool {
    encoding
        .decode_without_bom_handling_and_without_replacement(bytes)
        .is_some()
}

/// A charset named by an XML declaration or an HTML `<meta>` in the first kilobytes.
fn declared_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(4096)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    for key in [&b"charset="[..], &b"encoding="[..]] {
        let mut from = 0;
        while let Some(pos) = find(&lower[from..], key) {
            let start = from + pos + key.len();
            let value: Vec<u8> = lower[start..]
                .iter()
                .copied()
                .skip_while(|b| matches!(b, b'"' | b'\'' | b' '))
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
                .collect();
            if let Some(encoding) = Encoding::for_label(&value) {
                return Some(match encoding {
                    e if e == encoding_rs::GBK => GB18030,
                    e => e,
                });
            }
            from = start;
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// chardetng's guess, weighed against GB18030 and Big5: this archive holds Chinese, and short
/// or unusual Chinese texts (tables of characters, lists of names) can fool a detector trained
/// on prose. Between GB18030 and Big5 the more plausible Chinese wins; a non-CJK guess stands
/// only if neither decodes the bytes cleanly into mostly Han text.
fn guess(bytes: &[u8]) -> &'static Encoding {
    let sample = sniff_sample(bytes);
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
    detector.feed(sample, sample.len() == bytes.len());
    let guessed = match detector.guess(None, Utf8Detection::Allow) {
        e if e == encoding_rs::GBK => GB18030,
        e => e,
    };
    let errors = |e: &'static Encoding| {
        let (text, _) = e.decode_without_bom_handling(sample);
        text.matches('\u{FFFD}').count() as i64
    };
    let score = |e: &'static Encoding| i64::from(plausibility_of(e, sample)) - 6 * errors(e);
    let chinese = [GB18030, BIG5];
    if chinese.contains(&guessed) {
        // The other one only when it reads clearly better, errors counted against each.
        let other = if guessed == GB18030 { BIG5 } else { GB18030 };
        let margin = (sample.len() as i64 / 8).max(8);
        return if score(other) > score(guessed) + margin {
            other
        } else {
            guessed
        };
    }
    let fitting = chinese
        .into_iter()
        .filter(|&e| {
            errors(e) <= (sample.len() as i64 / 100).max(1)
                && share(e, sample, crate::lang::fold::is_han, |c| !c.is_ascii()) >= 0.5
                && plausibility_of(e, sample) > 0
        })
        .max_by_key(|&e| score(e));
    match fitting {
        Some(e) if !is_other_cjk(guessed) => e,
        _ => guessed,
    }
}

/// The first bytes of a file, cut at a line end so no character is cut in half.
fn sniff_sample(bytes: &[u8]) -> &[u8] {
    if bytes.len() <= SNIFF_BYTES {
        return bytes;
    }
    let head = &bytes[..SNIFF_BYTES];
    match head.iter().rposition(|&b| b == b'\n') {
        Some(end) if end > 0 => &head[..=end],
        _ => head,
    }
}

/// Japanese and Korean encodings, whose guesses chardetng makes from strong evidence.
fn is_other_cjk(encoding: &'static Encoding) -> bool {
    [
        encoding_rs::SHIFT_JIS,
        encoding_rs::EUC_JP,
        encoding_rs::EUC_KR,
        encoding_rs::ISO_2022_JP,
    ]
    .contains(&encoding)
}

/// The name to report: for the GB family the smallest standard the bytes fit, for Big5 whether
/// HKSCS extensions occur.
fn encoding_name(encoding: &'static Encoding, bytes: &[u8]) -> String {
    if encoding == GB18030 || encoding == encoding_rs::GBK {
        return gb_family_name(bytes).to_string();
    }
    if encoding == BIG5 {
        return big5_name(bytes).to_string();
    }
    encoding.name().to_string()
}

fn gb_family_name(bytes: &[u8]) -> &'static str {
    let mut name = "GB2312";
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(0x30..=0x39) => return "GB18030",
            Some(&t) if (0xA1..=0xF7).contains(&b) && t >= 0xA1 => i += 2,
            Some(_) => {
                name = "GBK";
                i += 2;
            }
            None => i += 1,
        }
    }
    name
}

fn big5_name(bytes: &[u8]) -> &'static str {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            i += 1;
            continue;
        }
        if !(0xA1..=0xF9).contains(&b) {
            return "Big5-HKSCS";
        }
        i += 2;
    }
    "Big5"
}

/// HZ-GB-2312 (RFC 1843): 7-bit text where `~{` … `~}` encloses GB 2312 bytes with the high bit
/// cleared. `None` unless the bytes use HZ escapes and decode with them.
pub fn decode_hz(bytes: &[u8]) -> Option<String> {
    if !bytes.is_ascii() || find(bytes, b"~{").is_none() {
        return None;
    }
    let mut out = String::with_capacity(bytes.len());
    let mut gb = false;
    let mut i = 0;
    let mut pairs = 0usize;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'~' {
            match bytes.get(i + 1) {
                Some(b'{') if !gb => gb = true,
                Some(b'}') if gb => gb = false,
                Some(b'~') if !gb => out.push('~'),
                Some(b'\n') if !gb => {}
                _ => return None,
            }
            i += 2;
            continue;
        }
        if gb {
            let t = *bytes.get(i + 1)?;
            if !(0x21..=0x7E).contains(&b) || !(0x21..=0x7E).contains(&t) {
                return None;
            }
            let pair = [b | 0x80, t | 0x80];
            let ch = GB18030.decode_without_bom_handling_and_without_replacement(&pair)?;
            out.push_str(&ch);
            pairs += 1;
            i += 2;
        } else {
            out.push(char::from(b));
            i += 1;
        }
    }
    (pairs > 0).then_some(out)
}

/// Every character a double-byte encoding encodes in two bytes, read off its decoder once
/// (encoding_rs's legacy encoders search their tables character by character, too slowly to
/// measure whole files with).
fn double_byte_chars(encoding: &'static Encoding) -> &'static HashSet<char> {
    fn build(encoding: &'static Encoding) -> HashSet<char> {
        let mut chars = HashSet::with_capacity(24_000);
        for lead in 0x81u8..=0xFE {
            for trail in (0x40u8..=0x7E).chain(0x80..=0xFE) {
                if let Some(text) =
                    encoding.decode_without_bom_handling_and_without_replacement(&[lead, trail])
                {
                    let mut it = text.chars();
                    if let (Some(c), None) = (it.next(), it.next()) {
                        chars.insert(c);
                    }
                }
            }
        }
        chars
    }
    static GB: LazyLock<HashSet<char>> = LazyLock::new(|| build(GB18030));
    static BIG5_CHARS: LazyLock<HashSet<char>> = LazyLock::new(|| build(BIG5));
    if encoding == BIG5 { &BIG5_CHARS } else { &GB }
}

/// Re-encodes `text` as `codec` would have, to find how many source bytes it took; `None`
/// where the codec does not allow it.
pub fn encoded_len(codec: Codec, text: &str) -> Option<usize> {
    Some(match codec {
        Codec::Whatwg(e) if e == UTF_8 => text.len(),
        Codec::Whatwg(e) if e == UTF_16LE || e == UTF_16BE => {
            text.chars().map(|c| c.len_utf16() * 2).sum()
        }
        Codec::Whatwg(e) if e == GB18030 || e == encoding_rs::GBK || e == BIG5 => {
            let doubles = double_byte_chars(e);
            text.chars()
                .map(|c| match c {
                    c if c.is_ascii() => 1,
                    c if doubles.contains(&c) => 2,
                    _ => 4,
                })
                .sum()
        }
        Codec::Whatwg(e) => {
            let (bytes, _, _): (Cow<[u8]>, _, _) = e.encode(text);
            bytes.len()
        }
        // HZ line continuations (`~` + newline) vanish in decoding: the text cannot say where
        // they were.
        Codec::Hz | Codec::Mixed => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "关于做好2011年元旦、春节期间拥军优属拥政爱民工作的通知";

    #[test]
    fn boms_win() {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(TEXT.encode_utf16().flat_map(u16::to_le_bytes));
        let d = decode(&bytes, "x.txt").unwrap();
        assert_eq!(d.text, TEXT);
        assert_eq!(d.encoding, "UTF-16LE");
        assert_eq!(d.source, EncodingSource::Bom);
        assert_eq!(d.bom_len, 2);
    }

    #[test]
    fn utf16_without_bom_is_recognised() {
        let le: Vec<u8> = TEXT.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = TEXT.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(decode(&le, "x.txt").unwrap().text, TEXT);
        assert_eq!(decode(&le, "x.txt").unwrap().encoding, "UTF-16LE");
        assert_eq!(decode(&be, "x.txt").unwrap().encoding, "UTF-16BE");
        let ascii_le: Vec<u8> = "Notice 2010, page 3\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(decode(&ascii_le, "x.txt").unwrap().encoding, "UTF-16LE");
    }

    #[test]
    fn gbk_and_big5_are_told_apart() {
        let (gbk, _, _) = encoding_rs::GBK.encode(TEXT);
        let d = decode(&gbk, "x.txt").unwrap();
        assert_eq!((d.text.as_str(), d.encoding.as_str()), (TEXT, "GB2312"));
        let traditional = "關於做好元旦、春節期間擁軍優屬擁政愛民工作的通知";
        let (big5, _, _) = BIG5.encode(traditional);
        let d = decode(&big5, "x.txt").unwrap();
        assert_eq!(
            (d.text.as_str(), d.encoding.as_str()),
            (traditional, "Big5")
        );
        let (gbk_trad, _, _) = encoding_rs::GBK.encode(traditional);
        let d = decode(&gbk_trad, "x.txt").unwrap();
        assert_eq!((d.text.as_str(), d.encoding.as_str()), (traditional, "GBK"));
    }

    #[test]
    fn declared_charset_is_used_when_the_bytes_agree() {
        let (gbk, _, _) = encoding_rs::GBK.encode(TEXT);
        let mut html = b"<html><head><meta charset=\"gb2312\"></head><body>".to_vec();
        html.extend_from_slice(&gbk);
        let d = decode(&html, "x.txt").unwrap();
        assert_eq!(d.source, EncodingSource::Declared);
        assert!(d.text.contains(TEXT));
    }

    #[test]
    fn an_encoding_in_the_file_name_counts_as_declared() {
        let traditional = "關於做好元旦春節期間工作的通知";
        let big5 = BIG5.encode(traditional).0.into_owned();
        let d = decode(&big5, "notices/2008_big5.txt").unwrap();
        assert_eq!(
            (d.text.as_str(), d.source),
            (traditional, EncodingSource::Declared)
        );
        assert_eq!(named_in_file_name("a/gbk/b.txt"), Some(GB18030));
        assert_eq!(named_in_file_name("big5hkscs-notes.txt"), None);
        assert_eq!(named_in_file_name("report.txt"), None);
    }

    #[test]
    fn hz_decodes() {
        let d = decode(
            b"The next sentence is in GB.~{<:Ky2;S{#,NpJ)l6HK!#~}Bye.\n",
            "hz.txt",
        )
        .unwrap();
        assert_eq!(d.encoding, "HZ-GB-2312");
        assert!(d.text.contains("己所不欲，勿施於人。"), "{}", d.text);
    }

    #[test]
    fn empty_and_binary_are_refused() {
        assert_eq!(decode(b"", "x.txt").unwrap_err(), DecodeError::Empty);
        assert_eq!(decode(b" \n\t ", "x.txt").unwrap_err(), DecodeError::Empty);
        assert!(matches!(
            decode(b"%PDF-1.4\n%...", "x.txt"),
            Err(DecodeError::Binary(_))
        ));
        assert!(matches!(
            decode(&[0u8, 1, 2, 3, 0, 0, 7, 8, 0], "x.txt"),
            Err(DecodeError::Binary(_))
        ));
    }

    #[test]
    fn malformed_bytes_are_counted() {
        let mut bytes = encoding_rs::GBK.encode(TEXT).0.into_owned();
        bytes.push(0x81);
        bytes.extend_from_slice(b"\n");
        let d = decode(&bytes, "x.txt").unwrap();
        assert_eq!(d.replacements, 1);
    }
}
