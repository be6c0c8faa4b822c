//! Document numbers (发文字号) in text: `浦府办〔2010〕98号` however it was printed or typed —
//! any bracket pair (〔〕 [] () （） 【】 ［］ 〖〗 ﹝﹞, or the `?` left where a bracket was lost),
//! traditional or simplified, with or without 第 before the serial — and the numbers of orders
//! and gazettes, which count without a year (`国务院令第588号`, `主席令第十二号`,
//! `……常务委员会公告（第12号）`). Extraction finds a document's own and cited numbers with it,
//! and the query language numbers typed in a query.

use std::str::FromStr;

use crate::lang::{fold, vocab};
use crate::model::{DocNumber, InvalidDocNumber};

const OPEN_BRACKETS: &[char] = &[
    '〔', '[', '(', '（', '【', '［', '〖', '﹝', '?', '？', '{', '｛',
];
const CLOSE_BRACKETS: &[char] = &[
    '〕', ']', ')', '）', '】', '］', '〗', '﹞', '?', '？', '}', '｝',
];

/// Every document number in `text`, each with its byte range. Only the places around an
/// opening bracket are looked at, in a window of the characters a number can span.
pub fn find_all(text: &str) -> Vec<(std::ops::Range<usize>, DocNumber)> {
    let mut found = Vec::new();
    if !text.contains(['号', '號']) {
        return found;
    }
    let mut searched_to = 0;
    for (bracket, c) in text.char_indices() {
        if bracket < searched_to || !OPEN_BRACKETS.contains(&c) {
            continue;
        }
        let mut window: Vec<(usize, char)> = text[searched_to..bracket]
            .char_indices()
            .rev()
            .take(MAX_PREFIX_CHARS)
            .map(|(i, c)| (searched_to + i, c))
            .collect();
        window.reverse();
        let at = window.len();
        window.extend(
            text[bracket..]
                .char_indices()
                .take(NUMBER_CHARS)
                .map(|(i, c)| (bracket + i, c)),
        );
        let Some((end, number)) = match_at(&window, at) else {
            continue;
        };
        let start_char = prefix_start(&window, at);
        let start = window[start_char].0;
        let end_byte = window.get(end).map_or(text.len(), |c| c.0);
        let prefix: String = window[start_char..at].iter().map(|c| c.1).collect();
        let prefix = fold::to_simplified(&prefix);
        found.push((start..end_byte, DocNumber::new(prefix, number.0, number.1)));
        searched_to = end_byte;
    }
    let serials = serial_numbers(text);
    if !serials.is_empty() {
        found.extend(serials);
        found.sort_by_key(|(range, _)| range.start);
        let mut end = 0;
        found.retain(|(range, _)| {
            let keep = range.start >= end;
            if keep {
                end = range.end;
            }
            keep
        });
    }
    found
}

/// The forms that number without a year: orders (令) and gazette notices (公告, 通告).
const SERIAL_FORMS: [&str; 3] = ["令", "公告", "通告"];

/// The most characters of an organ (or two, joined by 、) before a serial form.
const MAX_ORGAN_CHARS: usize = 40;

/// Characters that end an organ when scanning leftwards from its form: those of
/// [`PREFIX_STOP_CHARS`] that organ names never hold (names hold 和 and 与:
/// 中华人民共和国, 发展和改革委员会; and 第 of a term, 第十五届).
const ORGAN_STOP_CHARS: &str =
    "的据照见按依以于在将是为对由经即或并等如同附转请把被从向了号號對為將據見，。；：《》“”";

/// `<organ>令第N号`, `<organ>公告（第N号）`: the serial's position after the form, spaces
/// and an opening bracket allowed between them.
fn serial_numbers(text: &str) -> Vec<(std::ops::Range<usize>, DocNumber)> {
    let mut found = Vec::new();
    for (at, _) in text.match_indices('第') {
        let before = text[..at].trim_end_matches([' ', '\u{3000}', '（', '(']);
        let Some(form) = SERIAL_FORMS.iter().find(|f| before.ends_with(**f)) else {
            continue;
        };
        let after = &text[at + '第'.len_utf8()..];
        let digits: String = after
            .chars()
            .take_while(|&c| fold::ascii_digit(c).is_some() || vocab::NUMERALS.contains(c))
            .collect();
        let rest = &after[digits.len()..];
        if digits.is_empty() || !rest.starts_with(['号', '號']) {
            continue;
        }
        let seq_text: String = digits
            .chars()
            .map(|c| fold::ascii_digit(c).unwrap_or(c))
            .collect();
        let Some(seq) = seq_text
            .parse()
            .ok()
            .or_else(|| vocab::chinese_number(&seq_text))
        else {
            continue;
        };
        let organ_end = before.len() - form.len();
        let organ_start = before[..organ_end]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| (fold::is_han(c) || c == '、') && !ORGAN_STOP_CHARS.contains(c))
            .take(MAX_ORGAN_CHARS)
            .last()
            .map_or(organ_end, |(i, _)| i);
        let organ = before[organ_start..organ_end].trim_start_matches('、');
        if organ.chars().count() < 2 {
            continue;
        }
        let start = organ_end - organ.len();
        let mut end = at + '第'.len_utf8() + digits.len() + '号'.len_utf8();
        if text[start..at].contains(['（', '(']) && text[end..].starts_with(['）', ')']) {
            end += text[end..].chars().next().map_or(0, char::len_utf8);
        }
        let prefix = fold::to_simplified(&format!("{organ}{form}"));
        found.push((start..end, DocNumber::serial(prefix, seq)));
    }
    found
}

/// The most characters from the opening bracket to 号: `〔2010〕第123456号`.
const NUMBER_CHARS: usize = 16;

/// The first character index of the prefix (机关代字) ending just before `bracket`. In running
/// text the prefix follows other words, so it stops at characters that do not occur in
/// issuer abbreviations but do join words and clauses (和, 的, 据, 按 …).
fn prefix_start(chars: &[(usize, char)], bracket: usize) -> usize {
    let mut start = bracket;
    while start > 0
        && bracket - start < MAX_PREFIX_CHARS
        && is_prefix_char(chars[start - 1].1)
        && !PREFIX_STOP_CHARS.contains(chars[start - 1].1)
    {
        start -= 1;
    }
    start
}

/// Matches `〔2010〕98号` at `chars[i]` (the opening bracket) after a Han prefix; returns the
/// index after `号` and (year, serial).
fn match_at(chars: &[(usize, char)], i: usize) -> Option<(usize, (i32, u32))> {
    if i == 0
        || !is_prefix_char(chars[i - 1].1)
        || PREFIX_STOP_CHARS.contains(chars[i - 1].1)
        || !OPEN_BRACKETS.contains(&chars[i].1)
    {
        return None;
    }
    let digits = |from: usize, max: usize| -> (usize, String) {
        let mut j = from;
        let mut s = String::new();
        while j < chars.len() && s.len() < max {
            match fold::ascii_digit(chars[j].1) {
                Some(d) => s.push(d),
                None => break,
            }
            j += 1;
        }
        (j, s)
    };
    let (j, year) = digits(i + 1, 4);
    if year.len() != 4 || j >= chars.len() || !CLOSE_BRACKETS.contains(&chars[j].1) {
        return None;
    }
    let mut k = j + 1;
    if k < chars.len() && chars[k].1 == '第' {
        k += 1;
    }
    let (k, seq) = digits(k, 6);
    if seq.is_empty() || k >= chars.len() || !matches!(chars[k].1, '号' | '號') {
        return None;
    }
    let year: i32 = year.parse().ok()?;
    let seq: u32 = seq.parse().ok()?;
    (1900..=2100)
        .contains(&year)
        .then_some((k + 1, (year, seq)))
}

const MAX_PREFIX_CHARS: usize = 10;

/// Characters that end a prefix when scanning leftwards from the bracket: function words and
/// verbs that introduce a citation (根据, 按照, 依据, 印发, 见, 和, 与 …).
const PREFIX_STOP_CHARS: &str =
    "和与及的据照见按依以于在将是为对由经即或并等如同附转请把被从向了号號第和與對為將據見";

/// A character that can be part of a document-number prefix: Han, or a Latin letter (some
/// prefixes carry one, e.g. `京政发`, `沪府规`, but also `ZJ`).
fn is_prefix_char(c: char) -> bool {
    fold::is_han(c) || c.is_ascii_alphabetic()
}

impl FromStr for DocNumber {
    type Err = InvalidDocNumber;

    /// Parses a string that is exactly one document number (surrounding spaces allowed).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        match find_all(trimmed).as_slice() {
            [(range, number)] if range.start == 0 && range.end == trimmed.len() => {
                Ok(number.clone())
            }
            _ => Err(InvalidDocNumber(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_numbers_parse_in_every_bracket_form() {
        let canonical = "浦府办〔2010〕98号";
        for typed in [
            "浦府办〔2010〕98号",
            "浦府辦[2010]98號",
            "浦府办(2010)98号",
            "浦府办（2010）98号",
            "浦府办【2010】98号",
            "浦府办［2010］98号",
            "浦府辦?2010?98號",
            "浦府办〔2010〕第98号",
            " 浦府办﹝２０１０﹞９８号 ",
        ] {
            let n: DocNumber = typed.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(n.to_string(), canonical, "{typed}");
        }
        let n: DocNumber = "浦委辦發〔2008〕12號".parse().unwrap();
        assert_eq!(n.parts().prefix, "浦委办发");
        assert_eq!((n.parts().year, n.parts().seq), (Some(2008), 12));
        assert!("浦府办2010年98号".parse::<DocNumber>().is_err());
        assert!("第98号".parse::<DocNumber>().is_err());
        assert!("〔2010〕98号".parse::<DocNumber>().is_err());
    }

    #[test]
    fn doc_numbers_are_found_inside_text() {
        let text = "根据《通知》（沪委办〔2008〕12号，以下简称）和浦委办发〔2008〕12号";
        let found: Vec<String> = find_all(text)
            .into_iter()
            .map(|(_, n)| n.to_string())
            .collect();
        assert_eq!(found, ["沪委办〔2008〕12号", "浦委办发〔2008〕12号"]);
    }

    #[test]
    fn orders_and_gazettes_number_without_a_year() {
        for (typed, canonical) in [
            (
                "中华人民共和国国务院令第588号",
                "中华人民共和国国务院令第588号",
            ),
            ("国务院令 第５８８号", "国务院令第588号"),
            ("中华人民共和国主席令第十二号", "中华人民共和国主席令第12号"),
            (
                "中华人民共和国国务院、中华人民共和国中央军事委员会令第150号",
                "中华人民共和国国务院、中华人民共和国中央军事委员会令第150号",
            ),
            (
                "北京市第十五届人民代表大会常务委员会公告（第25号）",
                "北京市第十五届人民代表大会常务委员会公告第25号",
            ),
        ] {
            let n: DocNumber = typed.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(n.to_string(), canonical, "{typed}");
            assert_eq!(n.parts().year, None);
        }
        let cited: Vec<String> = find_all("根据国务院令第588号和浦府办〔2010〕98号，按第3号")
            .into_iter()
            .map(|(_, n)| n.to_string())
            .collect();
        assert_eq!(cited, ["国务院令第588号", "浦府办〔2010〕98号"]);
    }
}
