//! Dates as 公文 write them: `2008年3月19日`, `二〇〇八年一月十六日`, full-width digits.

use crate::lang::fold;
use crate::lang::vocab;
use crate::model::IsoDate;

/// A date found in text: its value and its byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundDate {
    pub date: IsoDate,
    pub start: usize,
    pub end: usize,
}

const CHINESE_DIGITS: &str = "〇零一二三四五六七八九";

/// Characters typed or recognised in place of a zero in years: the circle ○, Greek and
/// Cyrillic capital O, Latin O (and their full-width forms, folded before).
const LOOKALIKE_ZEROS: &str = "○◯ΟОOo";

/// Every valid `年月日` date in `text`. Only the places around each `年` are looked at.
pub fn find_dates(text: &str) -> Vec<FoundDate> {
    let mut found = Vec::new();
    let mut searched_to = 0;
    for (nian, _) in text.match_indices('年') {
        if nian < searched_to {
            continue;
        }
        // The four characters before 年, and the one before them (which must not be part of
        // the year).
        let before: Vec<(usize, char)> = text[searched_to..nian]
            .char_indices()
            .rev()
            .take(5)
            .map(|(i, c)| (searched_to + i, c))
            .collect();
        if before.len() < 4 || before.get(4).is_some_and(|&(_, c)| is_year_char(c)) {
            continue;
        }
        let start = before[3].0;
        let chars: Vec<(usize, char)> = text[start..]
            .char_indices()
            .take(DATE_CHARS)
            .map(|(i, c)| (start + i, c))
            .collect();
        if let Some((date, end)) = date_at(&chars) {
            let end = chars.get(end).map_or(text.len(), |c| c.0);
            found.push(FoundDate { date, start, end });
            searched_to = end;
        }
    }
    found
}

/// The most characters a date takes: `二〇一〇年十二月三十一日`.
const DATE_CHARS: usize = 14;

fn is_year_char(c: char) -> bool {
    fold::ascii_digit(c).is_some() || CHINESE_DIGITS.contains(c) || LOOKALIKE_ZEROS.contains(c)
}

/// A date at the start of `chars` (four year characters, then 年), and the index after `日`.
fn date_at(chars: &[(usize, char)]) -> Option<(IsoDate, usize)> {
    let run = |from: usize, pred: &dyn Fn(char) -> bool| -> usize {
        chars[from.min(chars.len())..]
            .iter()
            .take_while(|c| pred(c.1))
            .count()
    };
    let year_len = run(0, &is_year_char);
    if year_len != 4 || chars.get(year_len).map(|c| c.1) != Some('年') {
        return None;
    }
    let year = number(&chars[..year_len])?;
    let is_part_char =
        |c: char| fold::ascii_digit(c).is_some() || "〇零一二三四五六七八九十".contains(c);
    let m_start = year_len + 1;
    let m_len = run(m_start, &is_part_char);
    if m_len == 0 || m_len > 3 || chars.get(m_start + m_len).map(|c| c.1) != Some('月') {
        return None;
    }
    let month = number(&chars[m_start..m_start + m_len])?;
    let d_start = m_start + m_len + 1;
    let d_len = run(d_start, &is_part_char);
    if d_len == 0
        || d_len > 3
        || !matches!(chars.get(d_start + d_len).map(|c| c.1), Some('日' | '号'))
    {
        return None;
    }
    let day = number(&chars[d_start..d_start + d_len])?;
    let date = IsoDate::new(i32::try_from(year).ok()?, month, day)?;
    Some((date, d_start + d_len + 1))
}

/// The value of a run of digits, Chinese numerals or both; a look-alike zero reads as the
/// zero of the digits around it.
fn number(chars: &[(usize, char)]) -> Option<u32> {
    let arabic = chars.iter().any(|c| fold::ascii_digit(c.1).is_some());
    let s: String = chars
        .iter()
        .map(|c| match fold::ascii_digit(c.1) {
            Some(d) => d,
            None if LOOKALIKE_ZEROS.contains(c.1) => {
                if arabic {
                    '0'
                } else {
                    '〇'
                }
            }
            None => c.1,
        })
        .collect();
    if s.chars().all(|c| c.is_ascii_digit()) {
        s.parse().ok()
    } else {
        vocab::chinese_number(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dates(text: &str) -> Vec<String> {
        find_dates(text)
            .into_iter()
            .map(|d| d.date.to_string())
            .collect()
    }

    #[test]
    fn written_forms() {
        assert_eq!(dates("2008年3月19日"), ["2008-03-19"]);
        assert_eq!(dates("二〇〇八年一月十六日"), ["2008-01-16"]);
        assert_eq!(dates("二〇一〇年十二月三十一日"), ["2010-12-31"]);
        assert_eq!(dates("２０１０年１２月３１日印发"), ["2010-12-31"]);
        assert_eq!(dates("于2011年2月20日前，2011年元旦"), ["2011-02-20"]);
        assert_eq!(dates("2010年2月30日"), Vec::<String>::new());
        assert_eq!(dates("12010年1月1日"), Vec::<String>::new());
        assert_eq!(
            dates("2008年3月19日和2009年二月一日、二〇一〇年"),
            ["2008-03-19", "2009-02-01"]
        );
        assert_eq!(dates("年2008年年3月1日"), Vec::<String>::new());
    }

    #[test]
    fn years_with_lookalike_zeros_in_any_position() {
        assert_eq!(dates("二ΟΟ八年八月三日"), ["2008-08-03"]);
        assert_eq!(dates("二○○○年一月一日"), ["2000-01-01"]);
        assert_eq!(dates("二〇〇Ο年十月十日"), ["2000-10-10"]);
        assert_eq!(dates("2O1O年3月1日"), ["2010-03-01"]);
        assert_eq!(dates("OOOO年1月1日"), Vec::<String>::new());
    }
}
