//! Mandarin readings of Han characters (from the `pinyin` crate's Unihan-derived tables), used
//! to recognise pinyin annotations and to tell which GBK character an annotation belonged to.

use std::collections::HashSet;
use std::sync::LazyLock;

use pinyin::ToPinyinMulti;

/// Every toneless syllable that some character is read as.
static SYLLABLES: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    ('\u{3400}'..='\u{9FFF}')
        .filter_map(|c| c.to_pinyin_multi())
        .flat_map(|multi| multi.into_iter().map(|p| p.plain()))
        .collect()
});

/// A reading with tone marks, e.g. `qū`, lower case.
const TONED_VOWELS: &str = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ";

/// The readings of `c`, with tone marks (`區` → `qū`, `ōu`).
pub fn readings(c: char) -> impl Iterator<Item = &'static str> {
    c.to_pinyin_multi()
        .into_iter()
        .flat_map(|multi| multi.into_iter().map(|p| p.with_tone()))
}

/// `s` without tone marks (`zhǎng` → `zhang`, `lǚ` → `lü`).
pub fn strip_tones(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ā' | 'á' | 'ǎ' | 'à' => 'a',
            'ē' | 'é' | 'ě' | 'è' => 'e',
            'ī' | 'í' | 'ǐ' | 'ì' => 'i',
            'ō' | 'ó' | 'ǒ' | 'ò' => 'o',
            'ū' | 'ú' | 'ǔ' | 'ù' => 'u',
            'ǖ' | 'ǘ' | 'ǚ' | 'ǜ' | 'v' => 'ü',
            'ń' | 'ň' | 'ǹ' => 'n',
            'ḿ' => 'm',
            c => c,
        })
        .collect()
}

/// Whether `s` carries a tone mark.
pub fn has_tone_mark(s: &str) -> bool {
    s.chars().any(|c| TONED_VOWELS.contains(c))
}

/// Whether `s` (with or without tone marks) is a Mandarin syllable.
pub fn is_syllable(s: &str) -> bool {
    let plain = strip_tones(s);
    !plain.is_empty() && SYLLABLES.contains(plain.as_str())
}

/// Whether `c` can be read as `syllable`: exactly (tones included), or, failing that, without
/// tones (annotation tools often give one fixed, sometimes wrong, tone per character).
pub fn reads_as(c: char, syllable: &str) -> bool {
    let plain = strip_tones(syllable);
    readings(c).any(|r| r == syllable || strip_tones(r) == plain)
}

/// Whether `c` can be read as `syllable` with exactly this tone.
pub fn reads_exactly_as(c: char, syllable: &str) -> bool {
    readings(c).any(|r| r == syllable)
}

/// The letters a pinyin syllable is written with.
pub fn is_pinyin_letter(c: char) -> bool {
    c.is_ascii_lowercase() || c == 'ü' || TONED_VOWELS.contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_of_traditional_characters() {
        assert!(reads_exactly_as('區', "qū"));
        assert!(reads_exactly_as('聯', "lián"));
        assert!(reads_as('績', "jì"));
        assert!(reads_as('長', "zhǎng"));
        assert!(reads_as('謹', "jǐn"));
        assert!(reads_as('冊', "cè"));
        assert!(!reads_as('區', "lián"));
    }

    #[test]
    fn syllables() {
        assert!(is_syllable("zhǎng"));
        assert!(is_syllable("lü"));
        assert!(is_syllable("lǚ"));
        assert!(!is_syllable("wto"));
        assert!(!is_syllable("a1"));
        assert!(has_tone_mark("huì"));
        assert!(!has_tone_mark("hui"));
    }
}
