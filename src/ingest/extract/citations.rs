//! What a text cites and repeals, and how long it says it is valid.
//!
//! - A citation is a document number (any bracket form, see [`super::numbers`]) other than the
//!   document's own, or a 《title》 that ends in a document type (`《中华人民共和国行政许可法》`,
//!   `《关于修改〈……〉的决定》`; a 《许可证》 names a form, not a text, a 《通知》 no text in
//!   particular). Each keeps the sentence
//!   it stands in (up to `。；！？` or a line break).
//! - A repeal is a citation that a repeal verb (`废止`, `不再执行`, `停止执行`) follows or
//!   precedes in its sentence with nothing else between them but other citations, brackets
//!   (`（沪府发〔1997〕12号）`), list marks and a few linking characters (`同时`, `予以`,
//!   `即行`): `……发布的《上海市某某办法》同时废止`, and a repeal decision's list,
//!   `一、废止《北京市某某条例》（1994年……通过）`. A citation that a sentence only refers to (`依照《……》的规定
//!   予以废止`) has words of its own between it and the verb and is not one.
//! - Validity: `有效期至2015年12月31日`, or a period from the document's date (`有效期为三年`,
//!   `试行二年`, `有效期五年`), in a sentence about the document itself (`本办法……`): the
//!   validity of a permit (`许可证有效期为三年`) is not the text's.

use std::ops::Range;

use super::{find_dates, numbers};
use crate::lang::vocab;
use crate::model::{Citation, CitationKind, DocNumber, IsoDate};

/// The longest title taken for a citation, in characters.
const MAX_TITLE_CHARS: usize = 100;
/// The longest context kept, in characters (a longer sentence is cut around the citation).
const MAX_CONTEXT_CHARS: usize = 160;
/// Words that end a sentence's repeal of what stands before them.
const REPEAL_VERBS: [&str; 3] = ["废止", "不再执行", "停止执行"];
/// Characters that may stand between a repealed citation and its verb.
const REPEAL_LINKS: &str = "同时予以即行一并均亦和及与、，,的文件号";

/// Words that make what follows them the ground of an act.
const BASIS: [&str; 4] = ["根据", "依照", "按照", "依据"];

/// One citation and where it stands.
struct Found {
    kind: CitationKind,
    text: String,
    range: Range<usize>,
}

/// What `text` cites and what it repeals, in order of appearance, each once.
pub fn citations(text: &str, own: Option<&DocNumber>) -> (Vec<Citation>, Vec<Citation>) {
    let mut found: Vec<Found> = numbers::find_all(text)
        .into_iter()
        .filter(|(_, n)| Some(n) != own)
        .map(|(range, n)| Found {
            kind: CitationKind::Number,
            text: n.to_string(),
            range,
        })
        .collect();
    found.extend(titles(text));
    found.sort_by_key(|f| f.range.start);
    let mut cited: Vec<Citation> = Vec::new();
    let mut repealed: Vec<Citation> = Vec::new();
    for (i, f) in found.iter().enumerate() {
        let sentence = sentence_around(text, &f.range);
        let citation = || Citation {
            kind: f.kind,
            text: f.text.clone(),
            context: context(text, &sentence, &f.range),
        };
        if !cited.iter().any(|c| c.kind == f.kind && c.text == f.text) {
            cited.push(citation());
        }
        if (repeals(text, &found, i, sentence.end)
            || repealed_by_verb_before(text, &found, i, sentence.start))
            && !repealed
                .iter()
                .any(|c| c.kind == f.kind && c.text == f.text)
        {
            repealed.push(citation());
        }
    }
    (cited, repealed)
}

/// Whether a repeal verb follows `found[i]` in its sentence (ending at `sentence_end`) with
/// only other citations, brackets and linking characters between.
fn repeals(text: &str, found: &[Found], i: usize, sentence_end: usize) -> bool {
    // `根据《……》、《……》废止……`: the citations are the ground of the repeal, not its object.
    if given_as_ground(text, found, i) {
        return false;
    }
    let mut at = found[i].range.end;
    let mut depth = 0usize;
    while at < sentence_end {
        let rest = &text[at..sentence_end];
        if depth == 0 && REPEAL_VERBS.iter().any(|v| rest.starts_with(v)) {
            return true;
        }
        if let Some(next) = found.iter().find(|f| f.range.start == at) {
            at = next.range.end;
            continue;
        }
        let Some(c) = rest.chars().next() else {
            break;
        };
        match c {
            '（' | '(' => depth += 1,
            '）' | ')' => depth = depth.saturating_sub(1),
            // Inside brackets, anything (a date, `市政府令第48号发布`).
            _ if depth > 0 => {}
            _ if REPEAL_LINKS.contains(c) => {}
            _ => return false,
        }
        at += c.len_utf8();
    }
    false
}

/// Whether a ground word (`根据`) stands before `found[i]` or the run of citations it ends
/// (`根据《甲》、《乙》`).
fn given_as_ground(text: &str, found: &[Found], i: usize) -> bool {
    let mut start = found[i].range.start;
    for previous in found[..i].iter().rev() {
        let between = &text[previous.range.end..start];
        if !between.chars().all(|c| "、，,和及与".contains(c)) {
            break;
        }
        start = previous.range.start;
    }
    BASIS.iter().any(|w| text[..start].ends_with(w))
}

/// Whether a repeal verb stands before `found[i]` in its sentence (from `sentence_start`),
/// with only other citations, brackets and linking characters between: `废止《……》`,
/// `一、废止《甲》、《乙》`.
fn repealed_by_verb_before(text: &str, found: &[Found], i: usize, sentence_start: usize) -> bool {
    let mut at = found[i].range.start;
    let mut depth = 0usize;
    while at > sentence_start {
        let before = &text[sentence_start..at];
        if depth == 0 && REPEAL_VERBS.iter().any(|v| before.ends_with(v)) {
            return true;
        }
        if let Some(previous) = found[..i].iter().rev().find(|f| f.range.end == at) {
            at = previous.range.start;
            continue;
        }
        let Some(c) = before.chars().next_back() else {
            break;
        };
        match c {
            '）' | ')' => depth += 1,
            '（' | '(' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            _ if REPEAL_LINKS.contains(c) => {}
            _ => return false,
        }
        at -= c.len_utf8();
    }
    false
}

/// The 《titles》 of `text` that end in a document type, nested 〈〉 kept.
fn titles(text: &str) -> Vec<Found> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find('《').map(|i| i + from) {
        let inner_start = open + '《'.len_utf8();
        let Some(close) = text[inner_start..].find('》').map(|i| i + inner_start) else {
            break;
        };
        let inner = &text[inner_start..close];
        from = inner_start;
        if inner.contains('《') || inner.contains('\n') {
            continue;
        }
        let title: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
        let chars = title.chars().count();
        // A type alone (《通知》) names no text that could be found.
        let named = vocab::without_doc_type(vocab::strip_trailing_qualifier(&title))
            .is_some_and(|rest| rest.chars().count() >= 2);
        if chars <= MAX_TITLE_CHARS && named && vocab::doc_type_of(&title).is_some() {
            out.push(Found {
                kind: CitationKind::Title,
                text: title,
                range: open..close + '》'.len_utf8(),
            });
        }
        from = close + '》'.len_utf8();
    }
    out
}

/// The byte range of the sentence holding `range`: from after the previous sentence end (or
/// line break) to its own end mark, included.
fn sentence_around(text: &str, range: &Range<usize>) -> Range<usize> {
    let is_end = |c: char| matches!(c, '。' | '；' | '！' | '？' | '\n');
    let start = text[..range.start]
        .char_indices()
        .rev()
        .find(|(_, c)| is_end(*c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = text[range.end..]
        .char_indices()
        .find(|(_, c)| is_end(*c))
        .map_or(text.len(), |(i, c)| {
            range.end + i + if c == '\n' { 0 } else { c.len_utf8() }
        });
    start..end
}

/// The sentence, trimmed, cut to [`MAX_CONTEXT_CHARS`] around the citation if longer.
fn context(text: &str, sentence: &Range<usize>, range: &Range<usize>) -> String {
    let whole = text[sentence.clone()].trim();
    if whole.chars().count() <= MAX_CONTEXT_CHARS {
        return whole.to_string();
    }
    let before: Vec<(usize, char)> = text[sentence.start..range.start].char_indices().collect();
    let keep_before = MAX_CONTEXT_CHARS / 3;
    let start = before
        .len()
        .checked_sub(keep_before)
        .map_or(sentence.start, |k| sentence.start + before[k].0);
    let tail: String = text[start..sentence.end]
        .chars()
        .take(MAX_CONTEXT_CHARS)
        .collect();
    let lead = if start > sentence.start { "…" } else { "" };
    let end = if start + tail.len() < sentence.end {
        "…"
    } else {
        ""
    };
    format!("{lead}{}{end}", tail.trim())
}

/// The last day `text` says it is valid: `有效期至<date>`, or `有效期为N年` / `有效期N年` /
/// `试行N年` counted from `date` (the day before the anniversary).
pub fn valid_until(text: &str, date: Option<IsoDate>) -> Option<IsoDate> {
    let about_itself = |at: usize| {
        let sentence = sentence_around(text, &(at..at));
        vocab::names_itself(&text[sentence.start..at])
    };
    for (at, marker) in text.match_indices("有效期至") {
        if !about_itself(at) {
            continue;
        }
        let after = at + marker.len();
        // A colon or a space may stand before the date.
        if let Some(d) = find_dates(&text[after..]).into_iter().next()
            && text[after..after + d.start]
                .chars()
                .all(|c| matches!(c, '：' | ':' | ' ' | '\u{3000}'))
        {
            return Some(d.date);
        }
    }
    let date = date?;
    for marker in ["有效期为", "有效期", "试行期为", "试行"] {
        for (at, _) in text.match_indices(marker) {
            if !about_itself(at) {
                continue;
            }
            let after = &text[at + marker.len()..];
            let digits: String = after
                .chars()
                .take_while(|c| c.is_ascii_digit() || vocab::NUMERALS.contains(*c))
                .collect();
            if digits.is_empty() || !after[digits.len()..].starts_with('年') {
                continue;
            }
            let Some(years) = digits
                .parse::<u32>()
                .ok()
                .or_else(|| vocab::chinese_number(&digits))
            else {
                continue;
            };
            return years_later(date, years);
        }
    }
    None
}

/// The day before the `years`th anniversary of `date`.
fn years_later(date: IsoDate, years: u32) -> Option<IsoDate> {
    let year = date.year().checked_add(i32::try_from(years).ok()?)?;
    let (month, day) = date.month_day();
    let anniversary =
        IsoDate::new(year, month, day).or_else(|| IsoDate::new(year, month, day - 1))?;
    anniversary.previous_day()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(list: &[Citation]) -> Vec<&str> {
        list.iter().map(|c| c.text.as_str()).collect()
    }

    #[test]
    fn numbers_and_titles_with_their_sentences() {
        let text = "根据《国务院关于加强法治政府建设的意见》（国发〔2010〕33号）精神，制定本办法。\n持《特种行业许可证》经营。";
        let (cited, repealed) = citations(text, None);
        assert_eq!(
            texts(&cited),
            ["国务院关于加强法治政府建设的意见", "国发〔2010〕33号"]
        );
        assert_eq!(cited[0].kind, CitationKind::Title);
        assert_eq!(cited[1].kind, CitationKind::Number);
        assert_eq!(
            cited[1].context,
            "根据《国务院关于加强法治政府建设的意见》（国发〔2010〕33号）精神，制定本办法。"
        );
        assert!(repealed.is_empty());
    }

    #[test]
    fn repeals_name_what_the_verb_follows() {
        let text = "本办法自2011年1月1日起施行。1998年3月1日发布的《上海市甲管理办法》（沪府发〔1998〕5号）、《上海市乙规定》同时废止。依照《中华人民共和国行政许可法》的规定予以废止的，另行公告。";
        let (cited, repealed) = citations(text, None);
        assert_eq!(cited.len(), 4);
        assert_eq!(
            texts(&repealed),
            ["上海市甲管理办法", "沪府发〔1998〕5号", "上海市乙规定"]
        );
        assert!(repealed[0].context.ends_with("同时废止。"));
    }

    #[test]
    fn a_repeal_decision_lists_what_it_repeals_after_its_verb() {
        let text = "会议决定：\n一、废止《北京市甲条例》（1994年7月22日通过）\n二、废止《北京市乙条例》、《北京市丙办法》\n三、根据《北京市丁条例》、《北京市戊规定》废止部分规定";
        let (cited, repealed) = citations(text, None);
        assert_eq!(cited.len(), 5);
        assert_eq!(
            texts(&repealed),
            ["北京市甲条例", "北京市乙条例", "北京市丙办法"]
        );
    }

    #[test]
    fn a_number_repealed_by_itself() {
        let (cited, repealed) = citations("原《通知》（浦府〔2001〕7号）不再执行。", None);
        assert_eq!(texts(&cited), ["浦府〔2001〕7号"]);
        assert_eq!(texts(&repealed), ["浦府〔2001〕7号"]);
    }

    #[test]
    fn validity_from_a_day_or_a_period() {
        let date = IsoDate::new(2010, 3, 1);
        assert_eq!(
            valid_until("本办法有效期至2015年12月31日。", date).map(|d| d.to_string()),
            Some("2015-12-31".into())
        );
        assert_eq!(
            valid_until("本办法自发布之日起施行，有效期为三年。", date).map(|d| d.to_string()),
            Some("2013-02-28".into())
        );
        assert_eq!(
            valid_until("本办法试行2年。", date).map(|d| d.to_string()),
            Some("2012-02-29".into())
        );
        assert_eq!(valid_until("本办法自发布之日起施行。", date), None);
        assert_eq!(valid_until("许可证有效期为三年。", date), None);
        assert_eq!(
            valid_until("本办法自发布之日起施行。许可证有效期为三年。", date),
            None
        );
        assert_eq!(valid_until("试行2年", None), None);
    }
}
