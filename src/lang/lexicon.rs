//! The jieba-rs lexicon, loaded once, and what the repair stage asks of it: is this a word, and
//! how plausible is this run of characters as Chinese text.
//!
//! Plausibility is deliberately simple and explainable. Text decoded out of step, or decoded
//! with the wrong encoding, lands on byte pairs that are almost never the 3,755 everyday
//! characters of GB 2312 level 1 (rows B0–D7), and often on Latin letters between Han
//! characters (GBK trail bytes 0x40–0x7E are ASCII). Genuine text is mostly level-1 characters
//! once folded to simplified.

use std::collections::HashMap;
use std::sync::LazyLock;

use jieba_rs::Jieba;

use super::fold;

static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

/// The shared segmenter. Building it takes a few hundred milliseconds: it is built once.
pub fn jieba() -> &'static Jieba {
    &JIEBA
}

/// Whether `word` (any script) is a word of the lexicon.
pub fn is_word(word: &str) -> bool {
    JIEBA.has_word(&fold::to_simplified(word))
}

/// The GB 2312 level (1: the 3,755 everyday characters, rows B0–D7; 2: rows D8–F7) of every
/// Han character it holds, read off the decoder once.
static GB2312_LEVEL: LazyLock<HashMap<char, u8>> = LazyLock::new(|| {
    let mut levels = HashMap::with_capacity(6_800);
    for lead in 0xB0u8..=0xF7 {
        for trail in 0xA1u8..=0xFE {
            let pair = [lead, trail];
            if let Some(text) =
                encoding_rs::GBK.decode_without_bom_handling_and_without_replacement(&pair)
                && let Some(c) = text.chars().next()
            {
                levels.insert(c, if lead <= 0xD7 { 1 } else { 2 });
            }
        }
    }
    levels
});

/// How everyday a Han character is once simplified: 2 for GB 2312 level 1, 0 for level 2,
/// −2 for characters outside GB 2312.
fn han_score(c: char) -> i32 {
    match GB2312_LEVEL.get(&fold::simplify_char(c)) {
        Some(1) => 2,
        Some(_) => 0,
        None => -2,
    }
}

/// A score for `chars` as Chinese text: higher is more plausible. Comparable between two
/// readings of the same bytes.
pub fn plausibility(chars: &[char]) -> i32 {
    let is_han_at = |i: Option<usize>| {
        i.and_then(|i| chars.get(i))
            .is_some_and(|&c| fold::is_han(c))
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| match c {
            c if fold::is_han(c) => han_score(c),
            c if c.is_ascii_alphabetic()
                && is_han_at(i.checked_sub(1))
                && is_han_at(Some(i + 1)) =>
            {
                -3
            }
            c if fold::is_cjk_punct(c) => 1,
            '\u{E000}'..='\u{F8FF}' | '\u{FFFD}' => -4,
            c if c.is_control() && c != '\n' && c != '\t' => -4,
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert!(is_word("拥军"));
        assert!(is_word("擁軍"));
        assert!(is_word("特色"));
        assert!(!is_word("特瑟"));
    }

    #[test]
    fn out_of_step_text_is_implausible() {
        let good: Vec<char> = "基層黨".chars().collect();
        let bad: Vec<char> = "；鶎狱h".chars().collect();
        assert!(plausibility(&good) > plausibility(&bad) + 4);
        let right: Vec<char> = "文件".chars().collect();
        let mojibake: Vec<char> = "鏂囦欢".chars().collect();
        assert!(plausibility(&right) > plausibility(&mojibake));
    }
}
