//! Folding text so that what a researcher types meets what the archive holds.
//!
//! - [`to_simplified`]: traditional → simplified with OpenCC's phrase and character tables
//!   (via `hanconv`), plus the mainland readings of 著 (着力, 着重, 着眼, 随着 …) that OpenCC's
//!   `t2s` leaves alone because 著 is the standard traditional form of both 著 and 着.
//! - [`fold_for_search`]: the above, then full width → half width and Latin lower case.
//!
//! Every function here maps the input character for character (the output has exactly as many
//! `char`s as the input), so a position in folded text is the same position in the original;
//! the analyzer relies on this to highlight the original script.

use std::sync::LazyLock;

use hanconv::{RawDictionary, Trie};

static T2S: LazyLock<Trie<&'static str>> = LazyLock::new(|| {
    RawDictionary::TSPhrases
        .iter()
        .chain(RawDictionary::TSCharacters.iter())
        .filter(|(from, to)| from.chars().count() == to.chars().count())
        .collect()
});

/// Characters after which 著 is the aspect particle or verb 着 (随着, 接着, 沉着, 穿着 …).
const ZHE_AFTER: &str = "随接跟沿朝顺向为本有带看听想味沉穿衣执附试说走睡坐站躺拿等活笑忙望盯";
/// Characters before which 著 is 着 (着力, 着重, 着眼, 着手, 着想 …).
const ZHE_BEFORE: &str = "力重眼手想落陆实迷装急凉火笔墨意魔";
/// Characters after which 著 keeps its own sense (显著, 卓著, 名著 …) even before a ZHE_BEFORE
/// character (显著力量 is not 着力).
const ZHU_AFTER: &str = "显卓名编专土论原巨遗新合拙大昭撰译所";

/// Characters that start an entry of the conversion tables, as a bitmap over the Basic
/// Multilingual Plane (entries starting outside it are looked up in the tables directly).
/// Most characters of most texts start none, and are copied without a table lookup.
static CONVERTIBLE: LazyLock<Vec<u64>> = LazyLock::new(|| {
    let mut bits = vec![0u64; 0x10000 / 64];
    for (from, _) in RawDictionary::TSPhrases
        .iter()
        .chain(RawDictionary::TSCharacters.iter())
    {
        if let Some(c) = from.chars().next().filter(|c| (*c as u32) < 0x10000) {
            bits[c as usize / 64] |= 1 << (c as usize % 64);
        }
    }
    bits
});

fn may_convert(c: char) -> bool {
    let code = c as usize;
    code >= 0x10000 || CONVERTIBLE[code / 64] & (1 << (code % 64)) != 0
}

/// Traditional → simplified, character for character.
pub fn to_simplified(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(may_convert) {
        out.push_str(&rest[..at]);
        let mut chars = rest[at..].chars();
        match T2S.r#match(chars.clone()) {
            Some((to, len)) => {
                out.push_str(to);
                chars.nth(len - 1);
            }
            None => {
                if let Some(c) = chars.next() {
                    out.push(c);
                }
            }
        }
        rest = chars.as_str();
    }
    out.push_str(rest);
    if out.contains('著') {
        out = mainland_zhe(&out);
    }
    out
}

/// One character to simplified, without context (for scoring characters one by one).
pub fn simplify_char(c: char) -> char {
    if !may_convert(c) {
        return c;
    }
    match T2S.r#match(std::iter::once(c)) {
        Some((to, 1)) => to.chars().next().unwrap_or(c),
        _ => c,
    }
}

/// Rewrites 著 as 着 where mainland usage writes 着.
fn mainland_zhe(simplified: &str) -> String {
    let chars: Vec<char> = simplified.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if c != '著' {
                return c;
            }
            let before = i.checked_sub(1).map(|j| chars[j]);
            let after = chars.get(i + 1).copied();
            let in_set = |set: &str, c: Option<char>| c.is_some_and(|c| set.contains(c));
            if in_set(ZHU_AFTER, before) {
                '著'
            } else if in_set(ZHE_AFTER, before) || in_set(ZHE_BEFORE, after) {
                '着'
            } else {
                '著'
            }
        })
        .collect()
}

/// The search form of `text`: simplified, half width, Latin lower case.
pub fn fold_for_search(text: &str) -> String {
    to_simplified(text).chars().map(fold_char).collect()
}

/// Full width → half width and Latin lower case for one character.
#[inline]
pub fn fold_char(c: char) -> char {
    let c = fold_width(c);
    if c.is_ascii_uppercase() {
        c.to_ascii_lowercase()
    } else {
        c
    }
}

/// Full-width ASCII forms (U+FF01–U+FF5E) and the ideographic space → their ASCII forms.
pub fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// `0`–`9` in ASCII or full width, as an ASCII digit.
pub fn ascii_digit(c: char) -> Option<char> {
    let c = fold_width(c);
    c.is_ascii_digit().then_some(c)
}

/// A Han character (CJK unified ideographs and their extensions, compatibility ideographs, 〇).
#[inline]
pub fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3007}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FA1F}'
        | '\u{30000}'..='\u{323AF}')
}

/// Whether the index finds `c`: a Han character (assigned or not: a rare character a font
/// lacks is still text), a letter or a digit. Punctuation, symbols and spaces are not indexed.
#[inline]
pub fn is_searchable(c: char) -> bool {
    is_han(c) || c.is_alphanumeric()
}

/// CJK punctuation and full-width forms: what Chinese text puts between Han characters.
pub fn is_cjk_punct(c: char) -> bool {
    matches!(c,
        '\u{3000}'..='\u{3006}'
        | '\u{3008}'..='\u{303F}'
        | '\u{FF01}'..='\u{FF0F}'
        | '\u{FF1A}'..='\u{FF20}'
        | '\u{FF3B}'..='\u{FF40}'
        | '\u{FF5B}'..='\u{FF65}'
        | '\u{2014}'..='\u{2026}'
        | '\u{FE10}'..='\u{FE1F}'
        | '\u{FE30}'..='\u{FE4F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_phrases_become_simplified() {
        for (t, s) in [
            ("擁軍優屬擁政愛民", "拥军优属拥政爱民"),
            ("發展", "发展"),
            ("頭髮", "头发"),
            ("乾淨", "干净"),
            ("乾隆", "乾隆"),
            ("後來", "后来"),
            ("皇后", "皇后"),
            ("關於", "关于"),
            ("幹部", "干部"),
            ("平臺", "平台"),
            ("復雜", "复杂"),
        ] {
            assert_eq!(to_simplified(t), s, "{t}");
        }
    }

    #[test]
    fn zhe_follows_mainland_usage() {
        assert_eq!(to_simplified("著力推進"), "着力推进");
        assert_eq!(to_simplified("著重"), "着重");
        assert_eq!(to_simplified("著眼於"), "着眼于");
        assert_eq!(to_simplified("隨著發展"), "随着发展");
        assert_eq!(to_simplified("顯著"), "显著");
        assert_eq!(to_simplified("著名"), "著名");
        assert_eq!(to_simplified("著作"), "著作");
        assert_eq!(to_simplified("顯著力量"), "显著力量");
    }

    #[test]
    fn folding_keeps_the_character_count() {
        let text = "浦府辦〔２０１０〕98號，ＡＢＣ　擁軍著力";
        let folded = fold_for_search(text);
        assert_eq!(folded, "浦府办〔2010〕98号,abc 拥军着力");
        assert_eq!(folded.chars().count(), text.chars().count());
    }
}
