//! Hard line breaks inside sentences, left by PDF extraction or fixed-width wrapping.
//!
//! Two adjacent non-blank lines are joined when the first does not end a sentence or a clause,
//! the second starts with a Han character and not with a structural element (an article,
//! a numbered heading, a date, a 主题词/抄送 line, a signature), and either
//! - the first line is running prose: it contains a full stop, so it is not a title or a
//!   heading; or
//! - the break splits a word: the segmenter finds a word across it (`本單|位`, `遵|守`).
//!
//! Titles and headings wrapped over two lines (`…集中開展|嚴格遵守…的實施意見`) are layout,
//! and stay as they are.

use super::{RepairLog, simplified_chars};
use crate::ingest::split;
use crate::lang::vocab;
use crate::lang::{fold, lexicon};
use crate::model::RepairKind;

/// Characters that end a sentence, a clause or a bracketed note.
const TERMINAL: &str = "。！？；：:;!?”’」』）)》〕】…．.";

pub fn join_broken_lines(text: &str, log: &mut RepairLog) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = String::with_capacity(text.len());
    let mut joined = 0;
    for (i, line) in lines.iter().enumerate() {
        out.push_str(line);
        if let Some(next) = lines.get(i + 1) {
            if continues(line, next) {
                joined += 1;
            } else {
                out.push('\n');
            }
        }
    }
    log.add(RepairKind::LineJoined, joined);
    out
}

/// Whether `next` continues the sentence that `line` leaves open.
fn continues(line: &str, next: &str) -> bool {
    let line_chars: Vec<char> = line.trim_end().chars().collect();
    let Some(&last) = line_chars.last() else {
        return false;
    };
    let Some(first) = next.chars().next() else {
        return false;
    };
    if TERMINAL.contains(last) || !fold::is_han(last) || !fold::is_han(first) {
        return false;
    }
    let line_shadow: String = simplified_chars(&line_chars).into_iter().collect();
    let next_shadow = fold::to_simplified(next);
    if split::is_section_header(line)
        || starts_structure(&next_shadow)
        || vocab::is_org_name(next_shadow.trim())
        || vocab::is_org_name(line_shadow.trim())
    {
        return false;
    }
    line_shadow.contains('。') || splits_word(&line_shadow, &next_shadow)
}

/// Whether `text` starts an element that begins on its own line.
fn starts_structure(text: &str) -> bool {
    const LINE_STARTERS: &[&str] = &[
        "主题词",
        "关键词",
        "抄送",
        "主送",
        "附件",
        "印发",
        "签发",
        "联系人",
        "发布",
        "公布",
    ];
    if LINE_STARTERS.iter().any(|s| text.starts_with(s)) {
        return true;
    }
    let chars: Vec<char> = text.chars().collect();
    let numeral = |c: &char| vocab::NUMERALS.contains(*c) || c.is_ascii_digit();
    let after_first = chars.iter().skip(1).take_while(|c| numeral(c)).count();
    if chars.first() == Some(&'第')
        && after_first > 0
        && chars
            .get(1 + after_first)
            .is_some_and(|c| "条章节篇部款编".contains(*c))
    {
        return true;
    }
    let numbered = chars.iter().take_while(|c| numeral(c)).count();
    if numbered > 0 && chars.get(numbered) == Some(&'、') {
        return true;
    }
    numbered == 4 && chars.get(4) == Some(&'年') && text.ends_with('日')
}

/// Whether the segmenter reads a word across the break between `line` and `next`.
fn splits_word(line: &str, next: &str) -> bool {
    let tail: String = line
        .chars()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let head: String = next.chars().take(6).collect();
    let window = format!("{tail}{head}");
    let boundary = tail.len();
    lexicon::jieba()
        .cut(&window, false)
        .iter()
        .any(|token| token.byte_start < boundary && token.byte_end > boundary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> String {
        join_broken_lines(text, &mut RepairLog::default())
    }

    #[test]
    fn broken_sentences_are_joined() {
        assert_eq!(
            run("（八）堅持和完善制度。各級黨政組織要堅持黨\n員干部基層調研。"),
            "（八）堅持和完善制度。各級黨政組織要堅持黨員干部基層調研。"
        );
        assert_eq!(
            run("（二）各級黨委要注意發現和認真總結宣傳本部門、本單\n位領導班子的先進典型。"),
            "（二）各級黨委要注意發現和認真總結宣傳本部門、本單位領導班子的先進典型。"
        );
    }

    #[test]
    fn layout_breaks_stay() {
        for text in [
            "關于在黨員干部和黨政機關工作人員中集中開展\n嚴格遵守政治紀律教育的實施意見",
            "一、正確認識集中開展教育的重要意義，增強遵守政治紀律的自覺性\n嚴格遵守政治紀律，思想上自覺同黨中央保持一致。",
            "中共浦東新區委員會辦公室\n浦東新區人民政府辦公室",
            "中共浦東新區區委辦公室2008年3月19日印發\n（共印100份）",
            "上海市浦東新區人民政府辦公室\n二〇一〇年十二月三十一日",
            "各級黨政組織要堅持。工作要點\n第十四條 本辦法自發布之日起實施。",
            "第一段。\n\n第二段。",
            "一、指導思想\n以鄧小平理論為指導。",
        ] {
            assert_eq!(run(text), text);
        }
    }
}
