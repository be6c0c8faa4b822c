//! Characters an encoder could not map and wrote as `?`.
//!
//! - Brackets around the year of a document number: `浦府辦?2010?98號` → `浦府辦〔2010〕98號`
//!   (〔〕 are the only brackets the GB/T 9704 number format uses).
//! - A pair of `?` around a title: `現將?…辦法(試行)?印發` → `《…辦法(試行)》`, when what they
//!   enclose ends with a document type.
//! - Look-alike zeros in Chinese-numeral years: `二Ο一Ο年` (Greek omicron), `二○○八年`
//!   (white circle), `二0一0年` → 〇.

use super::{RepairLog, simplified_chars};
use crate::lang::fold;
use crate::lang::vocab;
use crate::model::RepairKind;

const LOST: &[char] = &['?', '？'];
const OPEN: &[char] = &['〔', '[', '(', '（', '【', '［'];
const CLOSE: &[char] = &['〕', ']', ')', '）', '】', '］'];

pub fn restore(text: &str, log: &mut RepairLog) -> String {
    if !text.contains(LOST) {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    log.add(
        RepairKind::DocNumberBracketRestored,
        doc_number_brackets(&mut chars),
    );
    log.add(RepairKind::TitleBracketRestored, title_brackets(&mut chars));
    chars.into_iter().collect()
}

/// `X?2010?98号`, where at least one bracket is a `?`.
fn doc_number_brackets(chars: &mut [char]) -> usize {
    let mut fixed = 0;
    let mut i = 1;
    while i + 7 < chars.len() {
        let open = chars[i];
        let close = i + 5;
        let opens = LOST.contains(&open) || OPEN.contains(&open);
        if opens
            && fold::is_han(chars[i - 1])
            && chars[i + 1..close].iter().all(|c| c.is_ascii_digit())
            && (LOST.contains(&chars[close]) || CLOSE.contains(&chars[close]))
            && (LOST.contains(&open) || LOST.contains(&chars[close]))
            && serial_follows(chars, close + 1)
        {
            chars[i] = '〔';
            chars[close] = '〕';
            fixed += 1;
            i = close + 1;
        } else {
            i += 1;
        }
    }
    fixed
}

/// `98号`, `第98号` or `98號` at `chars[from..]`.
fn serial_follows(chars: &[char], from: usize) -> bool {
    let mut j = from;
    if chars.get(j) == Some(&'第') {
        j += 1;
    }
    let digits = chars[j.min(chars.len())..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    digits > 0 && matches!(chars.get(j + digits), Some('号' | '號'))
}

/// `?title?` on one line, where the title ends with a document type.
fn title_brackets(chars: &mut [char]) -> usize {
    let mut fixed = 0;
    let mut open: Option<usize> = None;
    for i in 0..chars.len() {
        match chars[i] {
            '\n' => open = None,
            c if LOST.contains(&c) => match open {
                Some(start) if encloses_title(&chars[start + 1..i]) => {
                    chars[start] = '《';
                    chars[i] = '》';
                    fixed += 1;
                    open = None;
                }
                _ => open = Some(i),
            },
            _ => {}
        }
    }
    fixed
}

fn encloses_title(inner: &[char]) -> bool {
    let n = inner.len();
    if !(2..=100).contains(&n) || !fold::is_han(inner[0]) || inner.contains(&'《') {
        return false;
    }
    let simplified: String = simplified_chars(inner).into_iter().collect();
    vocab::doc_type_of(&simplified).is_some()
}

const ZERO_LOOKALIKES: &[char] = &['Ο', 'ο', '○', '◯', 'O', 'o', 'Ｏ', 'ｏ', '0', '０', '〇'];
const DIGIT_NUMERALS: &str = "一二三四五六七八九";

/// Four-character Chinese-numeral years whose zeros are look-alikes.
pub fn normalise_date_zeros(text: &str, log: &mut RepairLog) -> String {
    let is_digit_or_zero = |c: &char| DIGIT_NUMERALS.contains(*c) || ZERO_LOOKALIKES.contains(c);
    // Only the four characters before each 年 are looked at.
    let mut years: Vec<usize> = Vec::new();
    for (nian, _) in text.match_indices('年') {
        let before: Vec<(usize, char)> = text[..nian].char_indices().rev().take(5).collect();
        if before.len() < 4 {
            continue;
        }
        let year: Vec<char> = before[..4].iter().map(|&(_, c)| c).collect();
        let preceded_by_digit = before.get(4).is_some_and(|(_, c)| is_digit_or_zero(c));
        let real = year.iter().filter(|c| DIGIT_NUMERALS.contains(**c)).count();
        let lookalikes = year
            .iter()
            .filter(|&&c| c != '〇' && ZERO_LOOKALIKES.contains(&c))
            .count();
        if year.iter().all(is_digit_or_zero) && !preceded_by_digit && real >= 2 && lookalikes > 0 {
            years.push(before[3].0);
        }
    }
    log.add(RepairKind::DateZeroNormalised, years.len());
    if years.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for start in years {
        out.push_str(&text[at..start]);
        let year: String = text[start..]
            .chars()
            .take(4)
            .map(|c| {
                if ZERO_LOOKALIKES.contains(&c) {
                    '〇'
                } else {
                    c
                }
            })
            .collect();
        at = start
            + text[start..]
                .chars()
                .take(4)
                .map(char::len_utf8)
                .sum::<usize>();
        out.push_str(&year);
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: fn(&str, &mut RepairLog) -> String, text: &str) -> (String, usize) {
        let mut log = RepairLog::default();
        let out = f(text, &mut log);
        (out, log.total())
    }

    #[test]
    fn lost_brackets_in_numbers_and_titles() {
        assert_eq!(
            run(restore, "浦府辦?2010?98號"),
            ("浦府辦〔2010〕98號".into(), 1)
        );
        assert_eq!(
            run(restore, "国发〔2010?第5号"),
            ("国发〔2010〕第5号".into(), 1)
        );
        assert_eq!(
            run(restore, "現將?西鄉街道部門協作辦法(試行)?印發給你們"),
            ("現將《西鄉街道部門協作辦法(試行)》印發給你們".into(), 1)
        );
        assert_eq!(
            run(
                restore,
                "區委辦?關于印發〖寶安區部門協作辦法(試行)〗的通知?(深寶辦發〔2008〕1號)"
            ),
            (
                "區委辦《關于印發〖寶安區部門協作辦法(試行)〗的通知》(深寶辦發〔2008〕1號)".into(),
                1
            )
        );
    }

    #[test]
    fn lost_brackets_around_a_law_name_inside_a_title() {
        assert_eq!(
            run(restore, "上海市實施?中華人民共和國義務教育法?辦法"),
            ("上海市實施《中華人民共和國義務教育法》辦法".into(), 1)
        );
    }

    #[test]
    fn other_question_marks_stay() {
        for text in [
            "是否同意?请批示?",
            "共计2010?个",
            "工作?基層黨政",
            "浦府办〔2010〕98号",
            "國發(2010)5號",
        ] {
            assert_eq!(run(restore, text), (text.into(), 0), "{text}");
        }
    }

    #[test]
    fn zeros_in_years() {
        assert_eq!(
            run(normalise_date_zeros, "二Ο一Ο年十二月三十一日"),
            ("二〇一〇年十二月三十一日".into(), 1)
        );
        assert_eq!(
            run(normalise_date_zeros, "二○○八年一月"),
            ("二〇〇八年一月".into(), 1)
        );
        assert_eq!(
            run(normalise_date_zeros, "二0一0年"),
            ("二〇一〇年".into(), 1)
        );
        for text in ["二〇一〇年", "2010年", "二零一零年", "OOOO年", "三二O一O年"] {
            assert_eq!(run(normalise_date_zeros, text), (text.into(), 0), "{text}");
        }
    }
}
