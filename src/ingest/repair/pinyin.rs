//! Pinyin annotations after characters: `區(qū)` → `區`.
//!
//! An annotation is ASCII parentheses around one Mandarin syllable, right after a Han
//! character. With a tone mark any valid syllable counts (annotation tools give one fixed
//! reading per character, sometimes the wrong one: `長(zhǎng)` in `長江`, `績(jī)`); without one, only a
//! reading of that very character does, so `(a)` or `(WTO)` are never touched.

use super::{RepairLog, gbk};
use crate::lang::{fold, reading};
use crate::model::RepairKind;

pub fn remove_annotations(text: &str, log: &mut RepairLog) -> String {
    if !text.contains('(') {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut removed = 0;
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '('
            && i > 0
            && fold::is_han(chars[i - 1])
            && let Some(end) = annotation_end(&chars, i, chars[i - 1])
        {
            removed += 1;
            i = end;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    log.add(RepairKind::PinyinAnnotationRemoved, removed);
    out
}

/// The index after the annotation opening at `chars[open]` for character `han`, if it is one.
fn annotation_end(chars: &[char], open: usize, han: char) -> Option<usize> {
    let (syllable, end) = gbk::letters_then_close(chars, open + 1)?;
    let is_annotation = if reading::has_tone_mark(&syllable) {
        reading::is_syllable(&syllable)
    } else {
        reading::reads_as(han, &syllable)
    };
    is_annotation.then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (String, usize) {
        let mut log = RepairLog::default();
        let out = remove_annotations(text, &mut log);
        (out, log.count(RepairKind::PinyinAnnotationRemoved))
    }

    #[test]
    fn annotations_go_and_nothing_else() {
        assert_eq!(
            run("中共浦東新區(qū)委員會(huì)辦公室"),
            ("中共浦東新區委員會辦公室".to_string(), 2)
        );
        assert_eq!(run("長(zhǎng)江 績(jī)效"), ("長江 績效".to_string(), 2));
        assert_eq!(run("中(zhong)国"), ("中国".to_string(), 1));
        for kept in [
            "加入(WTO)以后",
            "附件(a)",
            "(一)",
            "(試行)",
            "A(ā)",
            "图(b)",
            "区(abc)",
        ] {
            assert_eq!(run(kept), (kept.to_string(), 0), "{kept}");
        }
    }
}
