//! Repairing damaged text without inventing any. Each pass reverses one damage mechanism,
//! counts what it changed, and flags what it could not prove:
//!
//! 0. NUL characters (from UTF-16 or binary junk) removed: they carry no text.
//! 1. [`mojibake`]: UTF-8 text that was decoded as GBK (`鏂囦欢`), reversed where lossless;
//!    `锟斤拷` flagged as loss.
//! 2. [`gbk`]: pinyin annotations that split GBK byte pairs, and bytes read out of step.
//! 3. [`pinyin`]: the remaining pinyin annotations (`區(qū)` → `區`).
//! 4. [`brackets`]: brackets lost to `?` (`〔2010〕`, `《…》`) and look-alike zeros in
//!    Chinese-numeral years (`二Ο一Ο年` → `二〇一〇年`).
//! 5. [`punct`]: ASCII `, ; : ( )` in Chinese text back to full width.
//! 6. [`spacing`]: stray spaces and page numbers inside sentences.
//! 7. [`lines`]: hard line breaks inside sentences.
//!
//! Every `?` left at the end is reported as unprovable.

mod brackets;
pub mod gbk;
mod lines;
mod mojibake;
mod pinyin;
mod punct;
mod spacing;

use std::collections::BTreeMap;

pub use gbk::AnnotatedChars;

use crate::model::{RepairCount, RepairKind, Warning, WarningKind};

/// Repaired text and its audit trail.
#[derive(Debug, Clone)]
pub struct Repaired {
    pub text: String,
    pub log: RepairLog,
}

/// What the repair passes changed and what they could not.
#[derive(Debug, Clone, Default)]
pub struct RepairLog {
    counts: BTreeMap<RepairKind, usize>,
    pub warnings: Vec<Warning>,
}

impl RepairLog {
    pub fn add(&mut self, kind: RepairKind, n: usize) {
        if n > 0 {
            *self.counts.entry(kind).or_default() += n;
        }
    }

    pub fn warn(&mut self, kind: WarningKind, message: impl Into<String>) {
        self.warnings.push(Warning::new(kind, message));
    }

    #[cfg(test)]
    pub fn count(&self, kind: RepairKind) -> usize {
        self.counts.get(&kind).copied().unwrap_or(0)
    }

    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }

    /// The counts, in a fixed order.
    pub fn counts(&self) -> Vec<RepairCount> {
        self.counts
            .iter()
            .map(|(&kind, &count)| RepairCount { kind, count })
            .collect()
    }
}

/// Runs every pass over `text`. `learned` holds the annotations of the whole file, which the
/// GBK pass needs even when `text` is one section of it.
pub fn repair(text: &str, learned: &AnnotatedChars) -> Repaired {
    let mut log = RepairLog::default();
    let nuls = text.matches('\0').count();
    log.add(RepairKind::NulRemoved, nuls);
    let without_nuls;
    let text = if nuls > 0 {
        without_nuls = text.replace('\0', "");
        &without_nuls
    } else {
        text
    };
    let text = mojibake::reverse_utf8_as_gbk(text, &mut log);
    let text = map_lines(&text, |line| gbk::repair_line(line, learned, &mut log));
    let text = pinyin::remove_annotations(&text, &mut log);
    let text = brackets::restore(&text, &mut log);
    let text = brackets::normalise_date_zeros(&text, &mut log);
    let text = punct::widen(&text, &mut log);
    let text = spacing::remove_stray_spaces(&text, &mut log);
    let text = lines::join_broken_lines(&text, &mut log);
    let unprovable = text.matches('?').count();
    if unprovable > 0 && log.total() > 0 {
        log.warn(
            WarningKind::UnprovableQuestionMark,
            format!(
                "{unprovable} `?` left in the text: each stands for a character the damaged bytes do not determine"
            ),
        );
    }
    Repaired { text, log }
}

/// Applies `f` to every line; `None` keeps the line.
fn map_lines(text: &str, mut f: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match f(line) {
            Some(fixed) => out.push_str(&fixed),
            None => out.push_str(line),
        }
    }
    out
}

/// A character-for-character simplified copy of `chars`, for rules written in simplified
/// characters that must also match traditional text.
fn simplified_chars(chars: &[char]) -> Vec<char> {
    let text: String = chars.iter().collect();
    crate::lang::fold::to_simplified(&text).chars().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_is_unchanged() {
        let text = "第一条 为了规范口岸开放，提高口岸通关效率，根据国家有关法律、行政法规的规定，结合本市实际，制定本条例。\n\n第二条 本条例所称的口岸，是指供人员、货物、物品和交通工具直接出入国（关、边）境的港口。";
        let repaired = repair(text, &AnnotatedChars::default());
        assert_eq!(repaired.text, text);
        assert_eq!(repaired.log.total(), 0);
        assert!(repaired.log.warnings.is_empty());
    }
}
