//! Snippets: a window of the original text around the matched terms, `<mark>`ed, the rest
//! HTML-escaped.
//!
//! Matching follows the character analyzer of the index (one token per Han character or
//! Latin/digit run, punctuation a gap of one), so a term typed in simplified characters marks
//! the traditional characters it matched, and `浦府办[2010]98号` marks `浦府辦〔2010〕98號`. The
//! document's simplified text (kept beside the original, character for character) spares
//! converting it again for every hit.

use std::collections::HashMap;

use crate::analysis::{self, Analyzed};
use crate::lang::fold;

/// Characters of context shown around the matches.
const WINDOW_CHARS: usize = 120;
/// Distinct terms marked, at most: a query cannot make every hit scan its text once per term.
pub const MAX_TERMS: usize = 32;
/// Tokens of one term matched, at most: a longer term is marked by its words, which the query
/// also lists, so a pasted page costs no more to mark than a sentence.
const MAX_TERM_TOKENS: usize = 32;

/// Characters of a text looked at for matches, at most: the snippet comes from its first
/// matches, and a hit on a very long document costs no more than one on a long one.
const MAX_SCANNED_CHARS: usize = 32 * 1024;

/// The first `chars` characters of `text`.
fn head(text: &str, chars: usize) -> &str {
    text.char_indices()
        .nth(chars)
        .map_or(text, |(end, _)| &text[..end])
}

/// A snippet of `text` with every occurrence of `terms` marked. `simplified` is `text` in
/// simplified characters, character for character. One pass over the start of the text,
/// whatever the number of terms.
pub fn snippet(text: &str, simplified: &str, terms: &[String]) -> String {
    let scanned = head(text, MAX_SCANNED_CHARS);
    let simplified = head(simplified, MAX_SCANNED_CHARS);
    let folded: Vec<char> = if simplified.chars().count() == scanned.chars().count() {
        simplified.chars().map(fold::fold_char).collect()
    } else {
        fold::fold_for_search(scanned).chars().collect()
    };
    let offsets = analysis::char_offsets(scanned);
    let patterns = patterns(terms);
    let mut by_lead: HashMap<char, Vec<usize>> = HashMap::new();
    for (index, pattern) in patterns.iter().enumerate() {
        if let Some(lead) = pattern[0].text.chars().next() {
            by_lead.entry(lead).or_default().push(index);
        }
    }
    let mut spans: Vec<(usize, usize, usize)> = Vec::new();
    for (start, c) in folded.iter().enumerate() {
        let Some(candidates) = by_lead.get(c) else {
            continue;
        };
        for &index in candidates {
            if let Some(end) = occurs_at(&folded, start, &patterns[index]) {
                spans.push((offsets[start], offsets[end], index));
            }
        }
    }
    spans.sort_unstable();
    let merged = merge(&spans);
    let (start, end) = window(&offsets, &spans);
    render(text, start, end, &merged)
}

/// The character tokens of each distinct term, at most [`MAX_TERMS`] of them, each cut to
/// [`MAX_TERM_TOKENS`].
fn patterns(terms: &[String]) -> Vec<Vec<Analyzed>> {
    let mut patterns: Vec<Vec<Analyzed>> = Vec::new();
    for term in terms {
        let mut pattern = analysis::chars(term);
        pattern.truncate(MAX_TERM_TOKENS);
        let seen = patterns.iter().any(|p| {
            p.len() == pattern.len()
                && p.iter().zip(&pattern).all(|(a, b)| {
                    a.text == b.text
                        && a.position - p[0].position == b.position - pattern[0].position
                })
        });
        if !pattern.is_empty() && !seen {
            patterns.push(pattern);
        }
        if patterns.len() == MAX_TERMS {
            break;
        }
    }
    patterns
}

/// Whether the token `token` (a Han character, or a Latin/digit run) stands at `folded[at..]`.
fn token_at(folded: &[char], at: usize, token: &str) -> bool {
    let len = token.chars().count();
    if at + len > folded.len() || !token.chars().eq(folded[at..at + len].iter().copied()) {
        return false;
    }
    // A Latin/digit run must be the whole run, not part of a longer one.
    let run = |c: &char| c.is_ascii_alphanumeric();
    !token.starts_with(|c: char| c.is_ascii_alphanumeric())
        || (at == 0 || !run(&folded[at - 1])) && folded.get(at + len).is_none_or(|c| !run(c))
}

/// Where `pattern` (non-empty) ends if it occurs at `folded[start..]` with its tokens' relative
/// positions.
fn occurs_at(folded: &[char], start: usize, pattern: &[Analyzed]) -> Option<usize> {
    let first = &pattern[0];
    let matched = pattern
        .iter()
        .all(|p| token_at(folded, start + (p.position - first.position), &p.text));
    let last = pattern.last()?;
    matched.then(|| start + (last.position - first.position) + last.text.chars().count())
}

/// Overlapping spans joined.
fn merge(spans: &[(usize, usize, usize)]) -> Vec<(usize, usize)> {
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for &(from, to, _) in spans {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    merged
}

/// Match sites weighed as the start of the window, at most: the first ones, so a text full of
/// matches costs no more than one with a few.
const MAX_WINDOWS_WEIGHED: usize = 256;

/// The byte window to show: the one of [`WINDOW_CHARS`] characters, starting a little before
/// one of the first [`MAX_WINDOWS_WEIGHED`] matches, that holds the most distinct terms (the
/// earliest among equals). `offsets` are the
/// byte offsets of the text's characters and its end; `spans` are sorted.
fn window(offsets: &[usize], spans: &[(usize, usize, usize)]) -> (usize, usize) {
    let char_at = |byte: usize| offsets.partition_point(|&b| b < byte);
    let byte_at = |index: usize| offsets[index.min(offsets.len() - 1)];
    let mut best: Option<(usize, usize)> = None;
    let mut last_start = None;
    for &(from, _, _) in spans.iter().take(MAX_WINDOWS_WEIGHED) {
        let start_char = char_at(from).saturating_sub(20);
        if last_start == Some(start_char) {
            continue;
        }
        last_start = Some(start_char);
        let (start, end) = (byte_at(start_char), byte_at(start_char + WINDOW_CHARS));
        let first = spans.partition_point(|s| s.0 < start);
        let mut distinct: Vec<usize> = spans[first..]
            .iter()
            .take_while(|s| s.0 < end)
            .filter(|s| s.1 <= end)
            .map(|s| s.2)
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        if best.is_none_or(|(count, _)| distinct.len() > count) {
            best = Some((distinct.len(), start_char));
        }
    }
    let start_char = best.map_or(0, |b| b.1);
    (byte_at(start_char), byte_at(start_char + WINDOW_CHARS))
}

fn render(text: &str, start: usize, end: usize, marks: &[(usize, usize)]) -> String {
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut at = start;
    for &(from, to) in marks {
        if to <= start || from >= end {
            continue;
        }
        let (from, to) = (from.max(start), to.min(end));
        escape_into(&mut out, &text[at..from]);
        out.push_str("<mark>");
        escape_into(&mut out, &text[from..to]);
        out.push_str("</mark>");
        at = to;
    }
    escape_into(&mut out, &text[at..end]);
    if end < text.len() {
        out.push('…');
    }
    out
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_text_is_marked_for_simplified_terms() {
        let text = "浦府辦〔2010〕98號\n關于做好擁軍優屬工作的通知";
        let simplified = fold::to_simplified(text);
        let terms = ["拥军优属".to_string(), "浦府办[2010]98号".to_string()];
        let s = snippet(text, &simplified, &terms);
        assert_eq!(
            s,
            "<mark>浦府辦〔2010〕98號</mark> 關于做好<mark>擁軍優屬</mark>工作的通知"
        );
    }

    #[test]
    fn the_rest_is_escaped_and_long_text_is_cut() {
        let text = format!("{}<b>通知</b>{}", "前".repeat(200), "后".repeat(200));
        let s = snippet(&text, &text, &["通知".to_string()]);
        assert!(s.starts_with('…') && s.ends_with('…'));
        assert!(s.contains("&lt;b&gt;<mark>通知</mark>&lt;/b&gt;"), "{s}");
        assert!(s.chars().count() < 200);
    }

    #[test]
    fn no_match_shows_the_beginning() {
        let s = snippet("第一条 为了规范", "第一条 为了规范", &[]);
        assert_eq!(s, "第一条 为了规范");
    }

    #[test]
    fn digit_runs_match_whole() {
        let s = snippet("1989年和89年", "1989年和89年", &["89年".to_string()]);
        assert_eq!(s, "1989年和<mark>89年</mark>");
    }

    #[test]
    fn repeated_and_excess_terms_are_marked_once_in_one_pass() {
        let text = "的".repeat(2_000);
        let mut terms = vec!["的".repeat(1_000)];
        terms.extend(std::iter::repeat_n("的".to_string(), 1_000));
        assert_eq!(patterns(&terms).len(), 2);
        let many: Vec<String> = (0..100).map(|i| format!("词{i}")).collect();
        assert_eq!(patterns(&many).len(), MAX_TERMS);
        let s = snippet(&text, &text, &terms);
        assert!(s.starts_with("<mark>") && s.ends_with('…'), "{s}");
    }

    #[test]
    fn only_the_start_of_a_very_long_text_is_scanned() {
        let early = format!("{}通知{}", "前".repeat(100), "后".repeat(MAX_SCANNED_CHARS));
        assert!(snippet(&early, &early, &["通知".to_string()]).contains("<mark>通知</mark>"));
        let late = format!("{}通知", "前".repeat(MAX_SCANNED_CHARS));
        let s = snippet(&late, &late, &["通知".to_string()]);
        assert!(!s.contains("<mark>") && s.ends_with('…'), "{s}");
    }
}
