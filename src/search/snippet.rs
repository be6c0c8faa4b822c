//! Snippets: a window of the original text around the matched terms, `<mark>`ed, the rest
//! HTML-escaped.
//!
//! Matching follows the character analyzer of the index (one token per Han character or
//! Latin/digit run, punctuation a gap of one), so a term typed in simplified characters marks
//! the traditional characters it matched, and `浦府办[2010]98号` marks `浦府辦〔2010〕98號`. The
//! document's simplified text (kept beside the original, character for character) spares
//! converting it again for every hit.

use crate::analysis::{self, Analyzed};
use crate::lang::fold;

/// Characters of context shown around the matches.
const WINDOW_CHARS: usize = 120;

/// A snippet of `text` with every occurrence of `terms` marked. `simplified` is `text` in
/// simplified characters, character for character.
pub fn snippet(text: &str, simplified: &str, terms: &[String]) -> String {
    let folded: Vec<char> = if simplified.chars().count() == text.chars().count() {
        simplified.chars().map(fold::fold_char).collect()
    } else {
        fold::fold_for_search(text).chars().collect()
    };
    let offsets = analysis::char_offsets(text);
    let mut spans: Vec<(usize, usize, usize)> = Vec::new();
    for (term_index, term) in terms.iter().enumerate() {
        let pattern = analysis::chars(term);
        for (from, to) in occurrences(&folded, &pattern) {
            spans.push((offsets[from], offsets[to], term_index));
        }
    }
    spans.sort_unstable();
    let merged = merge(&spans);
    let (start, end) = window(&offsets, &spans);
    render(text, start, end, &merged)
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

/// Character spans where `pattern` occurs with the same relative positions.
fn occurrences(folded: &[char], pattern: &[Analyzed]) -> Vec<(usize, usize)> {
    let Some(first) = pattern.first() else {
        return Vec::new();
    };
    let Some(lead) = first.text.chars().next() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for start in 0..folded.len() {
        if folded[start] != lead || !token_at(folded, start, &first.text) {
            continue;
        }
        let matched = pattern[1..]
            .iter()
            .all(|p| token_at(folded, start + (p.position - first.position), &p.text));
        if matched {
            let last = pattern.last().unwrap_or(first);
            let end = start + (last.position - first.position) + last.text.chars().count();
            found.push((start, end));
        }
    }
    found
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

/// The byte window to show: the one of [`WINDOW_CHARS`] characters, starting a little before
/// a match, that holds the most distinct terms (the earliest among equals). `offsets` are the
/// byte offsets of the text's characters and its end; `spans` are sorted.
fn window(offsets: &[usize], spans: &[(usize, usize, usize)]) -> (usize, usize) {
    let char_at = |byte: usize| offsets.partition_point(|&b| b < byte);
    let byte_at = |index: usize| offsets[index.min(offsets.len() - 1)];
    let mut best: Option<(usize, usize)> = None;
    let mut last_start = None;
    for &(from, _, _) in spans {
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
}
