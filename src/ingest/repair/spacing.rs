//! Spaces that do not belong in Chinese text, and page numbers left inside sentences.
//!
//! Chinese separates words with nothing, so a single ASCII space between two Chinese
//! characters is line-wrap or extraction damage (`養老 金`, `期間 擁軍`) — except where the 公文
//! format puts one on purpose, which is kept:
//! - after an article or chapter label: `第十三條 本辦法…`;
//! - between joint issuers: `中共浦東新區委員會 浦東新區人民政府`;
//! - before a date in a signature or print line: `…辦公室 2010年12月31日印發`, and before the
//!   organisation that starts such a segment;
//! - between subject words: `主題詞：民政 雙擁工作 通知`;
//! - runs of two or more spaces (layout) and full-width spaces.
//!
//! A page number is one to three digits standing between spaces inside a sentence
//! (`企業 1 在浦東`) or between a full stop and the next sentence (`工作。4 發揮`).

use super::{RepairLog, map_lines};
use crate::ingest::extract::find_dates;
use crate::lang::fold;
use crate::lang::vocab;
use crate::model::RepairKind;

pub fn remove_stray_spaces(text: &str, log: &mut RepairLog) -> String {
    if !text.contains(' ') {
        return text.to_string();
    }
    map_lines(text, |line| {
        if !may_hold_damage(line) {
            return None;
        }
        let chars: Vec<char> = line.chars().collect();
        if is_subject_line(&chars) {
            return None;
        }
        let (chars, pages) = remove_page_numbers(chars);
        let mut out = String::with_capacity(line.len());
        let mut removed = 0;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' && is_stray(&chars, i) {
                removed += 1;
            } else {
                out.push(c);
            }
        }
        log.add(RepairKind::StraySpaceRemoved, removed);
        log.add(RepairKind::PageNumberRemoved, pages);
        (removed + pages > 0).then_some(out)
    })
}

/// Whether `line` has a single space next to a character that is not ASCII: the only kind
/// the rules below ever remove (alone, or with a page number). Lines without one are passed
/// over before any work.
fn may_hold_damage(line: &str) -> bool {
    let mut chars = line.chars();
    let (mut before, mut at) = (None, chars.next());
    for after in chars.map(Some).chain(std::iter::once(None)) {
        if at == Some(' ')
            && before.is_some_and(|c: char| c != ' ')
            && after.is_some_and(|c: char| c != ' ')
            && (before.is_some_and(|c| !c.is_ascii()) || after.is_some_and(|c| !c.is_ascii()))
        {
            return true;
        }
        (before, at) = (at, after);
    }
    false
}

fn is_subject_line(chars: &[char]) -> bool {
    let head: String = chars
        .iter()
        .skip_while(|c| c.is_whitespace())
        .take(3)
        .map(|&c| fold::simplify_char(c))
        .collect();
    head == "主题词" || head == "关键词"
}

/// Whether the single space at `chars[i]` is damage.
fn is_stray(chars: &[char], i: usize) -> bool {
    let (Some(&left), Some(&right)) = (
        i.checked_sub(1).and_then(|j| chars.get(j)),
        chars.get(i + 1),
    ) else {
        return false;
    };
    if left == ' ' || right == ' ' {
        return false;
    }
    let chinese = |c: char| fold::is_han(c) || fold::is_cjk_punct(c) && c != '\u{3000}';
    if !chinese(left) || !chinese(right) {
        return false;
    }
    if fold::is_cjk_punct(left) {
        return true;
    }
    // What decides is near the space: an organisation name, a date, a label, read in
    // simplified characters. Looking no further keeps lines with thousands of spaces (PDF
    // extraction) linear.
    let from = i.saturating_sub(CONTEXT);
    let shadow: Vec<char> = chars[from..(i + 1 + CONTEXT).min(chars.len())]
        .iter()
        .map(|&c| fold::simplify_char(c))
        .collect();
    let (before, after) = (&shadow[..i - from], &shadow[i - from + 1..]);
    let at_line_start = i <= CONTEXT;
    !((at_line_start && starts_heading(before))
        || after_label(before)
        || starts_with_date(after)
        || ends_with_date(before)
        || between_organisations(before, after)
        || starts_signature(after))
}

/// Characters on each side of a space that the rules look at.
const CONTEXT: usize = 48;

/// A Markdown heading mark starts the line.
fn starts_heading(before: &[char]) -> bool {
    before.iter().find(|c| !c.is_whitespace()) == Some(&'#')
}

/// `…第十三条` before the space.
fn after_label(before: &[char]) -> bool {
    let text: String = before.iter().collect();
    let trimmed = text.trim_end_matches(['条', '章', '节', '款', '篇', '部', '编']);
    if trimmed.len() == text.len() {
        return false;
    }
    let numeral = trimmed
        .chars()
        .rev()
        .take_while(|&c| vocab::NUMERALS.contains(c) || c.is_ascii_digit())
        .count();
    numeral > 0 && trimmed.chars().rev().nth(numeral) == Some('第')
}

/// A date starts here: `2010年`, `二〇〇八年`.
fn starts_with_date(after: &[char]) -> bool {
    let year = after
        .iter()
        .take_while(|c| c.is_ascii_digit() || "〇零一二三四五六七八九".contains(**c))
        .count();
    year == 4 && after.get(4) == Some(&'年')
}

/// A date ends here: `2011年11月17日 上海市…` (a date heading an event or a signature).
fn ends_with_date(before: &[char]) -> bool {
    let tail: String = before[before.len().saturating_sub(12)..].iter().collect();
    find_dates(&tail)
        .last()
        .is_some_and(|d| d.end == tail.len())
}

/// The run of characters before the space, back to punctuation or the line start.
fn segment_before(before: &[char]) -> String {
    let start = before
        .iter()
        .rposition(|&c| !fold::is_han(c) && !"（）()".contains(c))
        .map_or(0, |p| p + 1);
    before[start..].iter().collect()
}

/// The run after the space up to punctuation, a space or a title that follows without a break
/// (`…人民政府辦公室關于做好…`).
fn segment_after(after: &[char]) -> String {
    let end = after
        .iter()
        .position(|&c| !fold::is_han(c) && !"（）()".contains(c))
        .unwrap_or(after.len());
    let segment: String = after[..end].iter().collect();
    match segment.find("关于") {
        Some(pos) => segment[..pos].to_string(),
        None => segment,
    }
}

/// Joint issuers: an organisation on each side.
fn between_organisations(before: &[char], after: &[char]) -> bool {
    vocab::is_org_name(&segment_before(before)) && vocab::is_org_name(&segment_after(after))
}

/// An organisation followed by a date: a signature or print line run into the line before.
fn starts_signature(after: &[char]) -> bool {
    let org = segment_after(after);
    let n = org.chars().count();
    vocab::is_org_name(&org) && after.get(n) == Some(&' ') && starts_with_date(&after[n + 1..])
}

/// Removes page numbers; returns the characters and how many were removed.
fn remove_page_numbers(chars: Vec<char>) -> (Vec<char>, usize) {
    let mut keep = vec![true; chars.len()];
    let mut removed = 0;
    let mut i = 0;
    while i < chars.len() {
        if let Some(len) = page_number_at(&chars, i) {
            keep[i..i + len].iter_mut().for_each(|k| *k = false);
            removed += 1;
            i += len;
        } else {
            i += 1;
        }
    }
    if removed == 0 {
        return (chars, 0);
    }
    let kept = chars
        .into_iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(c, _)| c)
        .collect();
    (kept, removed)
}

/// The length of a page number starting at `chars[i]`: ` 12 ` between Han characters (the
/// leading space included, one space left out), or `12 ` right after a sentence end.
fn page_number_at(chars: &[char], i: usize) -> Option<usize> {
    let digits = |from: usize| {
        chars[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let han_at = |j: usize| chars.get(j).is_some_and(|&c| fold::is_han(c));
    let quantity = |before: usize, after: usize| {
        chars
            .get(before)
            .is_some_and(|&c| vocab::QUANTIFIERS.contains(c))
            || chars.get(after).is_some_and(|&c| vocab::UNITS.contains(c))
    };
    if chars[i] == ' ' && i > 0 && han_at(i - 1) {
        let n = digits(i + 1);
        if (1..=3).contains(&n)
            && chars.get(i + 1 + n) == Some(&' ')
            && han_at(i + 2 + n)
            && !quantity(i - 1, i + 2 + n)
        {
            return Some(n + 2);
        }
    }
    if chars[i].is_ascii_digit() && i > 0 && "。！？；".contains(chars[i - 1]) {
        let n = digits(i);
        if n <= 3
            && chars.get(i + n) == Some(&' ')
            && han_at(i + n + 1)
            && !quantity(i - 1, i + n + 1)
        {
            return Some(n + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> String {
        remove_stray_spaces(text, &mut RepairLog::default())
    }

    #[test]
    fn spaces_inside_words_and_titles_go() {
        for (damaged, repaired) in [
            ("堅持軍民融合 式發展", "堅持軍民融合式發展"),
            ("春節期間 擁軍優屬", "春節期間擁軍優屬"),
            (
                "印發《關于在黨員干部 和黨政機關",
                "印發《關于在黨員干部和黨政機關",
            ),
            (
                "浦東新區人民政府 關于進一步服務",
                "浦東新區人民政府關于進一步服務",
            ),
            (
                "各單位、駐街道有關單位： 經街道",
                "各單位、駐街道有關單位：經街道",
            ),
            ("明確黨 組織主要負責人", "明確黨組織主要負責人"),
        ] {
            assert_eq!(run(damaged), repaired);
        }
    }

    #[test]
    fn meaningful_spaces_stay() {
        for text in [
            "第十三條 本辦法由街道黨工委負責解釋。",
            "中共上海市浦東新區委員會 上海市浦東新區人民政府",
            "第一篇：中共浦東新區委員會辦公室 浦東新區人民政府辦公室關于做好工作的通",
            "西鄉街道黨工委辦公室 西鄉街道辦事處辦公室 二〇〇八年一月十六日",
            "上海市浦東新區人民政府辦公室 2010年12月31日印發（共印180份）",
            "抄送：區包點領導，紀工委副書記 西鄉街道黨工委辦公室 2008年1月17日印發",
            "主題詞： 民政 雙擁工作 通知",
            "## 第一章  总则",
            "使用 Python 语言",
            "第一章　总则",
            "2011年11月17日 上海市第十三届人民代表大会常务委员会第三十次会议通过",
        ] {
            assert_eq!(run(text), text);
        }
    }

    #[test]
    fn a_line_of_spaced_characters_is_linear_and_joined() {
        let spaced: String = "政府信息公开"
            .repeat(4000)
            .chars()
            .flat_map(|c| [c, ' '])
            .collect();
        assert_eq!(run(spaced.trim_end()), "政府信息公开".repeat(4000));
    }

    #[test]
    fn page_numbers_go_quantities_stay() {
        assert_eq!(
            run("為全國各地的人才和企業 1 在浦東創業"),
            "為全國各地的人才和企業在浦東創業"
        );
        assert_eq!(run("培訓工作。4 發揮作用"), "培訓工作。發揮作用");
        assert_eq!(run("本 5 單位"), "本單位");
        for text in ["第 1 条", "共 5 人", "今年 3 月", "工作。3 月份"] {
            assert_eq!(run(text), text, "{text}");
        }
    }
}
