//! Analysis: text → index tokens, for tantivy and for query building alike.
//!
//! Both analyzers read *folded* text ([`fold_for_search`]: simplified, half width, lower
//! case). The index is given each text folded once ([`crate::index`] folds a document's
//! simplified text, character for character), and the tokenizers take it as it comes; query
//! terms are folded by [`chars`] and [`query_words`] here.
//!
//! Two fields carry each text, for two different jobs:
//!
//! - **words** ([`WORDS`]): jieba-rs segmentation, for BM25 ranking on meaningful units. A
//!   long word also yields the dictionary words inside it (浦东 and 新区 in 浦东新区, 农业 in
//!   中国农业发展银行), placed at the *same position* as the word they belong to, so the
//!   positions of consecutive words stay consecutive and proximity scoring keeps working.
//! - **characters** ([`CHARS`]): one token per Han character (and per run of Latin letters or
//!   digits), at its character index, and one per punctuation mark, standing for its class
//!   ([`gap_class`]); spaces leave gaps. This is what a query must match: a run of characters
//!   is found whatever jieba made of the surrounding text (segmentation depends on context,
//!   and a word inside a longer word, or a single character, is not a word token); a quoted
//!   phrase matches exactly the adjacent characters, never across punctuation; and a pasted
//!   fragment's punctuation, at its ends too, must be where it was typed. A character's
//!   position is its index in the text, which is also how snippets find the matches of a hit.
//! - **character pairs** ([`GRAMS`]): each two adjacent units of the character field as one
//!   token (Lucene's CJK bigrams; not across a space or a punctuation mark), without
//!   positions or frequencies: which documents hold a pair. A run of
//!   characters is looked up by its pairs first, so the positions of its (common) characters
//!   are read only in the few documents holding all its (rare) pairs; a run of two is its
//!   pair, no positions needed.
//!
//! [`fold_for_search`]: crate::lang::fold::fold_for_search

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use crate::lang::{fold, lexicon};

/// Name under which the word analyzer is registered.
pub const WORDS: &str = "gongwen_words";
/// Name under which the character analyzer is registered.
pub const CHARS: &str = "gongwen_chars";
/// Name under which the character pair analyzer is registered.
pub const GRAMS: &str = "gongwen_grams";

/// A token of a query term: its folded text and its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analyzed {
    pub text: String,
    pub position: usize,
}

/// A token as a range of the folded text it came from, and its position.
#[derive(Debug, Clone)]
struct Span {
    range: std::ops::Range<usize>,
    position: usize,
    /// Where the second token of a pair starts.
    second: Option<usize>,
}

impl Span {
    fn new(range: std::ops::Range<usize>, position: usize) -> Span {
        Span {
            range,
            position,
            second: None,
        }
    }

    /// The token's text, written into `out`: the text itself, or a punctuation mark's class
    /// (a pair's two texts one after the other).
    fn write(&self, folded: &str, out: &mut String) {
        out.clear();
        let (start, end) = (self.range.start, self.range.end);
        match self.second {
            Some(second) => {
                write_token(&folded[start..second], out);
                write_token(&folded[second..end], out);
            }
            None => write_token(&folded[start..end], out),
        }
    }
}

/// A token's text, or a punctuation mark's class, appended to `out`.
fn write_token(text: &str, out: &mut String) {
    match text.chars().next() {
        Some(c) if !fold::is_searchable(c) => out.push(gap_class(c)),
        _ => out.push_str(text),
    }
}

/// The class a punctuation mark is indexed as: brackets and quotation marks of every form are
/// one (a document number's `〔〕` is printed `[]`, `()`, or lost to `?`), other marks are
/// themselves (folded to half width already).
fn gap_class(c: char) -> char {
    match c {
        '[' | ']' | '(' | ')' | '{' | '}' | '<' | '>' | '?' | '"' | '\'' | '〔' | '〕' | '【'
        | '】' | '〖' | '〗' | '〈' | '〉' | '《' | '》' | '「' | '」' | '『' | '』' | '“'
        | '”' | '‘' | '’' | '﹝' | '﹞' | '⦅' | '⦆' | '｟' | '｠' | '〘' | '〙' | '«' | '»' => {
            '〔'
        }
        c => c,
    }
}

fn analyzed(folded: &str, spans: Vec<Span>) -> Vec<Analyzed> {
    spans
        .into_iter()
        .map(|s| {
            let mut text = String::new();
            s.write(folded, &mut text);
            Analyzed {
                text,
                position: s.position,
            }
        })
        .collect()
}

/// Byte offset of every character of `text`, and the text's length at the end.
pub fn char_offsets(text: &str) -> Vec<usize> {
    text.char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect()
}

/// Whether a folded token carries no searchable content (spaces, punctuation, symbols).
fn is_noise(token: &str) -> bool {
    !token.chars().any(fold::is_searchable)
}

/// The word tokens of folded text.
fn word_spans(folded: &str) -> Vec<Span> {
    let tokens = lexicon::jieba().cut_for_search(folded, false);
    // jieba emits a word's sub-words right before the word: walking backwards, a token inside
    // the span of the word after it is one of its sub-words.
    let mut is_part = vec![false; tokens.len()];
    let mut owner: Option<(usize, usize)> = None;
    for (i, token) in tokens.iter().enumerate().rev() {
        match owner {
            Some((start, end))
                if token.start >= start
                    && token.end <= end
                    && token.end - token.start < end - start =>
            {
                is_part[i] = true;
            }
            _ => owner = Some((token.start, token.end)),
        }
    }
    let mut spans = Vec::with_capacity(tokens.len());
    let mut position = 0usize;
    let mut parts = 0usize;
    for (token, part) in tokens.iter().zip(is_part) {
        if is_noise(token.word) {
            continue;
        }
        spans.push(Span::new(token.byte_start..token.byte_end, position));
        if part {
            parts += 1;
        } else {
            // The word came after its parts: move it before them, all at one position.
            let word_at = spans.len() - 1;
            spans[word_at - parts..].rotate_right(1);
            position += 1;
            parts = 0;
        }
    }
    spans
}

/// The tokens of folded text: each unit (a Han character or a Latin/digit run) at its
/// character index, and with `marks` each punctuation mark too; spaces leave gaps.
fn spans(folded: &str, marks: bool) -> Vec<Span> {
    let mut spans = Vec::with_capacity(folded.len() / 3);
    let mut chars = folded.char_indices().enumerate().peekable();
    while let Some((position, (at, c))) = chars.next() {
        let mut end = at + c.len_utf8();
        if c.is_ascii_alphanumeric() {
            while let Some((_, (next_at, next))) = chars.peek() {
                if !next.is_ascii_alphanumeric() {
                    break;
                }
                end = next_at + next.len_utf8();
                chars.next();
            }
        } else if !(fold::is_searchable(c) || marks && is_mark(c)) {
            continue;
        }
        spans.push(Span::new(at..end, position));
    }
    spans
}

/// Whether `c` is punctuation or a symbol (not a space, not a control character).
fn is_mark(c: char) -> bool {
    !c.is_whitespace() && !c.is_control()
}

/// The character tokens of folded text, as the index holds them (marks included).
fn char_spans(folded: &str) -> Vec<Span> {
    spans(folded, true)
}

/// Each two adjacent units of folded text as one (nothing across a space or a mark).
fn gram_spans(folded: &str) -> Vec<Span> {
    spans(folded, false)
        .windows(2)
        .filter(|pair| pair[0].range.end == pair[1].range.start)
        .map(|pair| Span {
            range: pair[0].range.start..pair[1].range.end,
            position: pair[0].position,
            second: Some(pair[1].range.start),
        })
        .collect()
}

/// The character pairs of a typed sequence ([`sequence`]'s tokens), distinct, as the pair
/// field holds them: each two units standing next to each other.
pub fn grams(tokens: &[Analyzed]) -> Vec<String> {
    let unit = |t: &Analyzed| t.text.chars().next().is_some_and(fold::is_searchable);
    let mut seen = std::collections::HashSet::new();
    tokens
        .windows(2)
        .filter(|pair| {
            let adjacent = pair[0].position + pair[0].text.chars().count() == pair[1].position;
            adjacent && unit(&pair[0]) && unit(&pair[1])
        })
        .map(|pair| format!("{}{}", pair[0].text, pair[1].text))
        .filter(|gram| seen.insert(gram.clone()))
        .collect()
}

/// The tokens a typed sequence is matched by, at their relative positions: its units and the
/// punctuation marks among and around them (a mark typed before the first unit or after the
/// last must stand there in the document too); nothing when it has no unit.
pub fn sequence(text: &str) -> Vec<Analyzed> {
    let folded = fold::fold_for_search(text);
    if spans(&folded, false).is_empty() {
        return Vec::new();
    }
    analyzed(&folded, char_spans(&folded))
}

/// The distinct words of a typed term, as the segmenter reads them (without sub-words), in
/// the order they first occur.
pub fn query_words(text: &str) -> Vec<String> {
    let folded = fold::fold_for_search(text);
    let mut words: Vec<String> = Vec::new();
    for token in lexicon::jieba().cut(&folded, false) {
        let word = token.word.trim();
        if word.chars().any(fold::is_searchable) && !words.iter().any(|w| w == word) {
            words.push(word.to_string());
        }
    }
    words
}

/// The word tokens of `text` (what the tantivy tokenizer streams, for inspection in tests).
#[cfg(test)]
pub fn words(text: &str) -> Vec<Analyzed> {
    let folded = fold::fold_for_search(text);
    analyzed(&folded, word_spans(&folded))
}

/// The units of `text` (its Han characters and Latin/digit runs, without punctuation),
/// folded first.
pub fn chars(text: &str) -> Vec<Analyzed> {
    let folded = fold::fold_for_search(text);
    analyzed(&folded, spans(&folded, false))
}

/// Bytes of text a tokenizer has analysed: how far indexing has got, for the importer to
/// wait on (tantivy queues up to 10,000 documents ahead of its indexing threads, which would
/// otherwise hold that many documents in memory).
pub type Meter = Arc<AtomicU64>;

/// A tantivy tokenizer over one of the analyzers above.
#[derive(Clone)]
pub struct GongwenTokenizer {
    analyze: fn(&str) -> Vec<Span>,
    token: Token,
    meter: Option<Meter>,
}

impl GongwenTokenizer {
    pub fn words() -> Self {
        GongwenTokenizer {
            analyze: word_spans,
            token: Token::default(),
            meter: None,
        }
    }

    pub fn chars() -> Self {
        GongwenTokenizer {
            analyze: char_spans,
            token: Token::default(),
            meter: None,
        }
    }

    pub fn grams() -> Self {
        GongwenTokenizer {
            analyze: gram_spans,
            token: Token::default(),
            meter: None,
        }
    }

    /// Counts the bytes this tokenizer analyses in `meter`.
    pub fn metered(mut self, meter: Meter) -> Self {
        self.meter = Some(meter);
        self
    }
}

/// The tokens of one text, handed to tantivy one at a time through a reused [`Token`].
pub struct GongwenTokenStream<'a> {
    folded: &'a str,
    spans: std::vec::IntoIter<Span>,
    token: &'a mut Token,
}

impl Tokenizer for GongwenTokenizer {
    type TokenStream<'a> = GongwenTokenStream<'a>;

    /// `text` is folded already (see the module's documentation).
    fn token_stream<'a>(&'a mut self, text: &'a str) -> GongwenTokenStream<'a> {
        self.token.reset();
        let spans = (self.analyze)(text);
        if let Some(meter) = &self.meter {
            meter.fetch_add(text.len() as u64, Ordering::Relaxed);
        }
        GongwenTokenStream {
            folded: text,
            spans: spans.into_iter(),
            token: &mut self.token,
        }
    }
}

impl TokenStream for GongwenTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let Some(next) = self.spans.next() else {
            return false;
        };
        next.write(self.folded, &mut self.token.text);
        self.token.position = next.position;
        self.token.offset_from = next.range.start;
        self.token.offset_to = next.range.end;
        self.token.position_length = 1;
        true
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// Registers the analyzers on `index`; the character analyzer counts what it analyses in
/// `meter`.
pub fn register(index: &tantivy::Index, meter: Meter) {
    let manager = index.tokenizers();
    manager.register(WORDS, GongwenTokenizer::words());
    manager.register(CHARS, GongwenTokenizer::chars().metered(meter));
    manager.register(GRAMS, GongwenTokenizer::grams());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(tokens: &[Analyzed]) -> Vec<(&str, usize)> {
        tokens
            .iter()
            .map(|t| (t.text.as_str(), t.position))
            .collect()
    }

    #[test]
    fn sub_words_share_their_words_position() {
        let tokens = words("浦东新区人民政府");
        let pos = |w: &str| tokens.iter().find(|t| t.text == w).map(|t| t.position);
        assert!(pos("浦东新区").is_some(), "{tokens:?}");
        assert_eq!(pos("浦东"), pos("浦东新区"));
        assert_eq!(pos("新区"), pos("浦东新区"));
        assert_eq!(pos("人民政府"), pos("浦东新区").map(|p| p + 1));
        let bank = words("中国农业发展银行");
        assert!(bank.iter().any(|t| t.text == "农业"), "{bank:?}");
    }

    #[test]
    fn traditional_text_gets_simplified_tokens() {
        let tokens = words("擁軍優屬，浦東新區");
        let position = |w: &str| tokens.iter().find(|t| t.text == w).map(|t| t.position);
        assert_eq!(position("拥军"), Some(0));
        assert!(position("浦东") > position("拥军"), "{tokens:?}");
        assert!(tokens.iter().all(|t| t.text != "，"));
    }

    #[test]
    fn characters_keep_gaps_for_punctuation() {
        let tokens = chars("拥军、优属 2010年ＡＢＣ");
        assert_eq!(
            texts(&tokens),
            [
                ("拥", 0),
                ("军", 1),
                ("优", 3),
                ("属", 4),
                ("2010", 6),
                ("年", 10),
                ("abc", 11)
            ]
        );
    }

    #[test]
    fn mixed_and_full_width_text() {
        let text = "浦府辦〔２０１０〕98號";
        let tokens = chars(text);
        assert_eq!(
            texts(&tokens),
            [
                ("浦", 0),
                ("府", 1),
                ("办", 2),
                ("2010", 4),
                ("98", 9),
                ("号", 11)
            ]
        );
        let words = words("關於印發《辦法》的通知");
        assert!(words.iter().any(|t| t.text == "关于"), "{words:?}");
        assert!(words.iter().any(|t| t.text == "通知"));
    }

    #[test]
    fn the_tantivy_stream_reports_every_token_and_mark() {
        let mut tokenizer = GongwenTokenizer::chars();
        let mut stream = tokenizer.token_stream("通知。 98号〕");
        let mut seen = Vec::new();
        while stream.advance() {
            seen.push((stream.token().text.clone(), stream.token().position));
        }
        let expected: Vec<(String, usize)> = [
            ("通", 0),
            ("知", 1),
            ("。", 2),
            ("98", 4),
            ("号", 6),
            ("〔", 7),
        ]
        .iter()
        .map(|&(t, p)| (t.to_string(), p))
        .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn pairs_join_adjacent_units_never_across_a_space_or_a_mark() {
        let mut tokenizer = GongwenTokenizer::grams();
        let mut stream = tokenizer.token_stream("通知。 98号〕");
        let mut seen = Vec::new();
        while stream.advance() {
            seen.push(stream.token().text.clone());
        }
        assert_eq!(seen, ["通知", "98号"]);
        assert_eq!(grams(&sequence("拥军 拥军优")), ["拥军", "军优"]);
        assert_eq!(grams(&sequence("浦府办[2010]")), ["浦府", "府办"]);
        assert!(grams(&sequence("区")).is_empty());
    }

    #[test]
    fn a_sequence_keeps_its_punctuation_in_classes() {
        assert_eq!(
            texts(&sequence("，负责區、")),
            [(",", 0), ("负", 1), ("责", 2), ("区", 3), ("、", 4)]
        );
        assert_eq!(
            texts(&sequence("办[2010]98")),
            [("办", 0), ("〔", 1), ("2010", 2), ("〔", 6), ("98", 7)]
        );
        assert!(sequence("，。").is_empty());
    }
}
