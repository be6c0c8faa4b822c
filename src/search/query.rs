//! The query language researchers type:
//!
//! ```text
//! 拥军优属 春节              both terms (AND is implicit)
//! "拥军优属"                 the exact characters, adjacent
//! 通知 OR 意见               either
//! 通知 -转发  / NOT 转发      without
//! (通知 OR 意见) 浦东        grouping
//! title:拥军   issuer:浦东新区人民政府   number:浦府办[2010]98号   type:通知   subject:民政
//! year:2008   year:2006..2010   date:2008-01-01..2010-12-31   date:..2009-06
//! cites:国发〔2014〕45号   cites:《中华人民共和国行政许可法》   status:in_force
//! 浦府辦(2010)98號          a document number, in any bracket form, anywhere in the query
//! ```
//!
//! Parsing yields a [`Node`] tree or a [`QueryError`] with the character position and a
//! message a researcher can act on; nothing malformed is silently dropped.

use std::ops::RangeInclusive;

use crate::analysis;
use crate::index::relations::Status;
use crate::lang::vocab;
use crate::model::{DocNumber, IsoDate};
use QueryErrorReason as R;

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Free text: every word must occur.
    Text {
        text: String,
        title_only: bool,
    },
    /// A quoted phrase: the characters must occur adjacent.
    Phrase {
        text: String,
        title_only: bool,
    },
    /// A document number typed in the query: the document with that number ranks first; one
    /// that cites it matches as text.
    Number(DocNumber),
    /// `issuer:` — an issuer, exactly (any printed form).
    Issuer(String),
    /// `number:` — exactly this own document number.
    OwnNumber(DocNumber),
    /// `type:`.
    DocType(String),
    /// `subject:`.
    Subject(String),
    /// `year:`.
    Year(RangeInclusive<i32>),
    /// `date:`, bounds inclusive.
    Date(Option<IsoDate>, Option<IsoDate>),
    /// `cites:国发〔2014〕45号` — the documents citing this number.
    CitesNumber(DocNumber),
    /// `cites:《…》` — the documents citing this title (its title key).
    CitesTitle(String),
    /// `status:` — the documents with this validity status.
    Status(Status),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
}

/// A malformed query: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {position})")]
pub struct QueryError {
    /// 0-based character position in the query.
    pub position: usize,
    pub reason: QueryErrorReason,
    pub message: String,
}

/// What is wrong with a malformed query, as a code a client can word in its own language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueryErrorReason {
    /// An operator (`-`, NOT, AND, OR) or a place in the query lacks its term.
    MissingTerm,
    /// `name:` names no field.
    UnknownField,
    /// `name:` with nothing after it.
    MissingValue,
    UnclosedQuote,
    /// A `)` without its `(`.
    UnmatchedParenthesis,
    /// A `(` without its `)`.
    UnclosedParenthesis,
    EmptyParentheses,
    /// Parentheses nested deeper than the parser allows.
    TooDeep,
    /// More distinct words than a query may hold.
    TooManyWords,
    /// A field's value is not of its kind (a year, a date, a number, a status, a citation).
    InvalidValue,
    /// A term of punctuation, symbols or undecodable bytes only.
    NoSearchableText,
}

fn error(position: usize, reason: QueryErrorReason, message: impl Into<String>) -> QueryError {
    QueryError {
        position,
        reason,
        message: message.into(),
    }
}

/// The fields a query may name.
pub const FIELDS: &[&str] = &[
    "title", "issuer", "number", "type", "subject", "year", "date", "cites", "status",
];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Or,
    And,
    Not,
    Word(String),
    Quoted(String),
    Number(DocNumber),
    Field {
        name: String,
        value: String,
        quoted: bool,
    },
}

const OPEN_QUOTES: &[char] = &['"', '“', '「', '『'];

fn closing_quote(open: char) -> char {
    match open {
        '“' => '”',
        '「' => '」',
        '『' => '』',
        _ => '"',
    }
}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || c == '(' || c == ')' || OPEN_QUOTES.contains(&c)
}

/// Splits the query into tokens with their character positions.
fn lex(query: &str) -> Result<Vec<(usize, Token)>, QueryError> {
    let chars: Vec<char> = query.chars().collect();
    let byte_at: Vec<usize> = query.char_indices().map(|(b, _)| b).collect();
    let numbers = crate::ingest::extract::numbers::find_all(query);
    let number_at = |i: usize| {
        let byte = byte_at.get(i).copied()?;
        numbers.iter().find(|(range, _)| range.start == byte)
    };
    let char_index = |byte: usize| {
        byte_at
            .iter()
            .position(|&b| b >= byte)
            .unwrap_or(chars.len())
    };
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if let Some((range, number)) = number_at(i) {
            tokens.push((i, Token::Number(number.clone())));
            i = char_index(range.end);
        } else if c == '(' {
            tokens.push((i, Token::Open));
            i += 1;
        } else if c == ')' {
            tokens.push((i, Token::Close));
            i += 1;
        } else if OPEN_QUOTES.contains(&c) {
            let (text, end) = quoted(&chars, i)?;
            tokens.push((i, Token::Quoted(text)));
            i = end;
        } else {
            let start = i;
            if c == '-' {
                match chars.get(i + 1) {
                    Some(n) if !n.is_whitespace() => {
                        tokens.push((i, Token::Not));
                        i += 1;
                        continue;
                    }
                    _ => return Err(error(i, R::MissingTerm, "`-` needs a term right after it")),
                }
            }
            let name_len = chars[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            if name_len > 0 && chars.get(i + name_len) == Some(&':') {
                let name: String = chars[i..i + name_len]
                    .iter()
                    .collect::<String>()
                    .to_ascii_lowercase();
                if !FIELDS.contains(&name.as_str()) {
                    return Err(error(
                        i,
                        R::UnknownField,
                        format!(
                            "unknown field `{name}`; the fields are {}",
                            FIELDS.join(", ")
                        ),
                    ));
                }
                let value_start = i + name_len + 1;
                let (value, quoted_value, end) = match chars.get(value_start) {
                    Some(q) if OPEN_QUOTES.contains(q) => {
                        let (text, end) = quoted(&chars, value_start)?;
                        (text, true, end)
                    }
                    _ => {
                        let end = value_end(&chars, value_start);
                        (chars[value_start..end].iter().collect(), false, end)
                    }
                };
                if value.trim().is_empty() {
                    return Err(error(
                        start,
                        R::MissingValue,
                        format!("`{name}:` needs a value"),
                    ));
                }
                tokens.push((
                    start,
                    Token::Field {
                        name,
                        value,
                        quoted: quoted_value,
                    },
                ));
                i = end;
                continue;
            }
            let mut end = i;
            while end < chars.len() && !is_separator(chars[end]) && number_at(end).is_none() {
                end += 1;
            }
            let word: String = chars[i..end].iter().collect();
            let token = match word.as_str() {
                "OR" | "|" | "||" => Token::Or,
                "AND" | "&&" => Token::And,
                "NOT" => Token::Not,
                _ => Token::Word(word),
            };
            tokens.push((start, token));
            i = end;
        }
    }
    Ok(tokens)
}

/// Where a bare field value starting at `chars[start]` ends: at white space, or at a `)` that
/// closes a group around the field (brackets opened inside the value, as in
/// `number:浦府办(2010)98号`, are part of it).
fn value_end(chars: &[char], start: usize) -> usize {
    let mut depth = 0usize;
    for (i, &c) in chars.iter().enumerate().skip(start) {
        match c {
            c if c.is_whitespace() => return i,
            '(' => depth += 1,
            ')' if depth == 0 => return i,
            ')' => depth -= 1,
            _ => {}
        }
    }
    chars.len()
}

/// The text of the quotation opening at `chars[open]`, and the index after its closing quote.
fn quoted(chars: &[char], open: usize) -> Result<(String, usize), QueryError> {
    let close = closing_quote(chars[open]);
    let end = chars[open + 1..]
        .iter()
        .position(|&c| c == close || (close == '"' && c == '”'))
        .map(|p| open + 1 + p)
        .ok_or_else(|| {
            error(
                open,
                R::UnclosedQuote,
                "this quotation mark is never closed",
            )
        })?;
    Ok((chars[open + 1..end].iter().collect(), end + 1))
}

/// Parses `query`. An empty (or all-blank) query is `None`: it matches every document.
pub fn parse(query: &str) -> Result<Option<Node>, QueryError> {
    let tokens = lex(query)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut parser = Parser {
        tokens,
        at: 0,
        len: query.chars().count(),
        depth: 0,
        words: std::collections::HashSet::new(),
    };
    let node = parser.or()?;
    if let Some((position, _)) = parser.tokens.get(parser.at) {
        return Err(error(
            *position,
            R::UnmatchedParenthesis,
            "this closing parenthesis has no opening one",
        ));
    }
    Ok(Some(node))
}

/// Distinct words the free text of a query may hold: each costs clauses (and position list
/// reads) of its own. A longer passage is searched as a quoted phrase, one clause.
pub const MAX_WORDS: usize = 128;

/// How deeply parentheses may nest. The parser and the query builder recurse once per level, so
/// the limit is what keeps a hostile query from exhausting a worker's stack.
pub const MAX_NESTING: usize = 32;

struct Parser {
    tokens: Vec<(usize, Token)>,
    at: usize,
    len: usize,
    /// Parentheses open at the current token.
    depth: usize,
    /// The distinct words of the terms read so far.
    words: std::collections::HashSet<String>,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|t| &t.1)
    }

    fn position(&self) -> usize {
        self.tokens.get(self.at).map_or(self.len, |t| t.0)
    }

    fn or(&mut self) -> Result<Node, QueryError> {
        let mut alternatives = vec![self.and()?];
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            push_distinct(&mut alternatives, self.and()?);
        }
        Ok(if alternatives.len() == 1 {
            alternatives.remove(0)
        } else {
            Node::Or(alternatives)
        })
    }

    fn and(&mut self) -> Result<Node, QueryError> {
        let mut all = Vec::new();
        loop {
            match self.peek() {
                None | Some(Token::Close) | Some(Token::Or) => break,
                Some(Token::And) => {
                    let position = self.position();
                    self.at += 1;
                    let followed = !matches!(
                        self.peek(),
                        None | Some(Token::Close) | Some(Token::Or) | Some(Token::And)
                    );
                    if all.is_empty() || !followed {
                        return Err(error(
                            position,
                            R::MissingTerm,
                            "AND needs a term on each side",
                        ));
                    }
                }
                _ => {
                    let term = self.unary()?;
                    push_distinct(&mut all, term);
                }
            }
        }
        match all.len() {
            0 => Err(match self.peek() {
                Some(Token::Or) => error(
                    self.position(),
                    R::MissingTerm,
                    "OR needs a term on each side",
                ),
                Some(Token::Close) => {
                    error(self.position(), R::EmptyParentheses, "empty parentheses")
                }
                _ => error(self.position(), R::MissingTerm, "a term is missing here"),
            }),
            1 => Ok(all.remove(0)),
            _ => Ok(Node::And(all)),
        }
    }

    /// A term with its `NOT`s (or `-`s). A chain of them is read in a loop, not by recursion,
    /// and two cancel out: `NOT NOT x` is `x`.
    fn unary(&mut self) -> Result<Node, QueryError> {
        let mut negated = false;
        while self.peek() == Some(&Token::Not) {
            let position = self.position();
            self.at += 1;
            if matches!(
                self.peek(),
                None | Some(Token::Close) | Some(Token::Or) | Some(Token::And)
            ) {
                return Err(error(
                    position,
                    R::MissingTerm,
                    "NOT (or -) needs a term after it",
                ));
            }
            negated = !negated;
        }
        let term = self.primary()?;
        Ok(if negated {
            Node::Not(Box::new(term))
        } else {
            term
        })
    }

    fn primary(&mut self) -> Result<Node, QueryError> {
        let (position, token) = self.tokens[self.at].clone();
        self.at += 1;
        match token {
            Token::Open => {
                match self.peek() {
                    Some(Token::Close) => {
                        return Err(error(position, R::EmptyParentheses, "empty parentheses"));
                    }
                    None => {
                        return Err(error(
                            position,
                            R::UnclosedParenthesis,
                            "this parenthesis is never closed",
                        ));
                    }
                    _ => {}
                }
                if self.depth == MAX_NESTING {
                    return Err(error(
                        position,
                        R::TooDeep,
                        format!("parentheses nested too deeply: at most {MAX_NESTING} levels"),
                    ));
                }
                self.depth += 1;
                let inner = self.or()?;
                self.depth -= 1;
                if self.peek() != Some(&Token::Close) {
                    return Err(error(
                        position,
                        R::UnclosedParenthesis,
                        "this parenthesis is never closed",
                    ));
                }
                self.at += 1;
                Ok(inner)
            }
            Token::Word(text) => self.counted(position, text).map(|text| Node::Text {
                text,
                title_only: false,
            }),
            Token::Quoted(text) => searchable(position, text).map(|text| Node::Phrase {
                text,
                title_only: false,
            }),
            Token::Number(number) => Ok(Node::Number(number)),
            Token::Field {
                name,
                value,
                quoted,
            } => {
                let node = field(position, &name, value, quoted)?;
                if let Node::Text { text, .. } = &node {
                    self.count_words(position, text)?;
                }
                Ok(node)
            }
            Token::Close | Token::Or | Token::And | Token::Not => {
                Err(error(position, R::MissingTerm, "a term is missing here"))
            }
        }
    }
}

/// `text` if it holds something the index can find: a term made only of punctuation, symbols or
/// undecodable bytes would match nothing, and its negation everything.
fn searchable(position: usize, text: String) -> Result<String, QueryError> {
    if !analysis::chars(&text).is_empty() {
        return Ok(text);
    }
    let message = if text.contains('\u{FFFD}') {
        "the query holds bytes that are not UTF-8 text".to_string()
    } else {
        format!(
            "`{text}` has nothing to search for: punctuation and symbols alone match nothing; search for characters, letters or digits"
        )
    };
    Err(error(position, R::NoSearchableText, message))
}

/// Adds `node` to the operands of an AND or OR unless it is already there: repeating a term
/// changes nothing but the work the query costs.
fn push_distinct(operands: &mut Vec<Node>, node: Node) {
    if !operands.contains(&node) {
        operands.push(node);
    }
}

impl Parser {
    /// A searchable term, its words counted against [`MAX_WORDS`].
    fn counted(&mut self, position: usize, text: String) -> Result<String, QueryError> {
        let text = searchable(position, text)?;
        self.count_words(position, &text)?;
        Ok(text)
    }

    fn count_words(&mut self, position: usize, text: &str) -> Result<(), QueryError> {
        self.words.extend(analysis::query_words(text));
        if self.words.len() > MAX_WORDS {
            return Err(error(
                position,
                R::TooManyWords,
                format!(
                    "the query holds more than {MAX_WORDS} distinct words; search a long passage as a \"quoted phrase\""
                ),
            ));
        }
        Ok(())
    }
}

fn field(position: usize, name: &str, value: String, quoted: bool) -> Result<Node, QueryError> {
    let value_position = position + name.chars().count() + 1;
    let trimmed = value.trim().to_string();
    match name {
        "title" if quoted => searchable(value_position, value).map(|text| Node::Phrase {
            text,
            title_only: true,
        }),
        "title" => searchable(value_position, value).map(|text| Node::Text {
            text,
            title_only: true,
        }),
        "issuer" => Ok(Node::Issuer(trimmed)),
        "type" => Ok(Node::DocType(trimmed)),
        "subject" => Ok(Node::Subject(trimmed)),
        "number" => trimmed
            .parse::<DocNumber>()
            .map(Node::OwnNumber)
            .map_err(|e| error(value_position, R::InvalidValue, e.to_string())),
        "cites" => cites(value_position, &trimmed),
        "status" => trimmed
            .parse::<Status>()
            .map(Node::Status)
            .map_err(|message| error(value_position, R::InvalidValue, message)),
        "year" => parse_years(&trimmed).map(Node::Year).ok_or_else(|| {
            error(
                value_position,
                R::InvalidValue,
                format!("`{trimmed}` is not a year or a range of years such as 2006..2010"),
            )
        }),
        _ => parse_date_range(&trimmed)
            .map(|(from, to)| Node::Date(from, to))
            .map_err(|message| error(value_position, R::InvalidValue, message)),
    }
}

/// A `cites:` value: a document number in any bracket form, or a 《title》.
fn cites(position: usize, value: &str) -> Result<Node, QueryError> {
    if let Some(title) = value.strip_prefix('《').and_then(|v| v.strip_suffix('》')) {
        let key = vocab::title_key(title);
        if key.chars().any(crate::lang::fold::is_searchable) {
            return Ok(Node::CitesTitle(key));
        }
    } else if let Ok(number) = value.parse::<DocNumber>() {
        return Ok(Node::CitesNumber(number));
    }
    Err(error(
        position,
        R::InvalidValue,
        format!(
            "`{value}` is neither a document number (国发〔2014〕45号) nor a title in 《》 (《中华人民共和国行政许可法》)"
        ),
    ))
}

fn parse_years(value: &str) -> Option<RangeInclusive<i32>> {
    let year = |s: &str| -> Option<i32> {
        let s = s.trim();
        (s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    match value.split_once("..") {
        Some((from, to)) => {
            let from = if from.is_empty() { 1 } else { year(from)? };
            let to = if to.is_empty() { 9999 } else { year(to)? };
            (from <= to).then_some(from..=to)
        }
        None => year(value).map(|y| y..=y),
    }
}

/// `A..B`, `A..`, `..B` or `A`, where each bound is `YYYY`, `YYYY-MM` or `YYYY-MM-DD`; a bound
/// that is a year or a month covers all of it.
pub fn parse_date_range(value: &str) -> Result<(Option<IsoDate>, Option<IsoDate>), String> {
    let (from, to) = match value.split_once("..") {
        Some((from, to)) => (from.trim(), to.trim()),
        None => (value.trim(), value.trim()),
    };
    let from = if from.is_empty() {
        None
    } else {
        Some(date_bound(from, false)?)
    };
    let to = if to.is_empty() {
        None
    } else {
        Some(date_bound(to, true)?)
    };
    if from.is_none() && to.is_none() {
        return Err(
            "a date range needs at least one date, e.g. 2008-01-01..2010-12-31".to_string(),
        );
    }
    if let (Some(a), Some(b)) = (from, to)
        && a > b
    {
        return Err(format!("the range starts ({a}) after it ends ({b})"));
    }
    Ok((from, to))
}

fn date_bound(s: &str, end: bool) -> Result<IsoDate, String> {
    let invalid = || format!("`{s}` is not a date: use YYYY-MM-DD (or YYYY, YYYY-MM)");
    let parts: Vec<&str> = s.split('-').collect();
    let number = |p: &str| -> Result<u32, String> {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        p.parse().map_err(|_| invalid())
    };
    let (year, month, day) = match parts.as_slice() {
        [y] if y.len() == 4 => (number(y)?, if end { 12 } else { 1 }, None),
        [y, m] if y.len() == 4 => (number(y)?, number(m)?, None),
        [y, m, d] if y.len() == 4 => (number(y)?, number(m)?, Some(number(d)?)),
        _ => return Err(invalid()),
    };
    let year = i32::try_from(year).map_err(|_| invalid())?;
    let day = match day {
        Some(d) => d,
        None if end => (28..=31)
            .rev()
            .find(|&d| IsoDate::new(year, month, d).is_some())
            .ok_or_else(invalid)?,
        None => 1,
    };
    IsoDate::new(year, month, day).ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> Node {
        Node::Text {
            text: t.to_string(),
            title_only: false,
        }
    }

    #[test]
    fn terms_phrases_and_operators() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("  ").unwrap(), None);
        assert_eq!(parse("拥军").unwrap(), Some(text("拥军")));
        assert_eq!(
            parse("拥军 春节").unwrap(),
            Some(Node::And(vec![text("拥军"), text("春节")]))
        );
        assert_eq!(
            parse("通知 OR 意见 -转发").unwrap(),
            Some(Node::Or(vec![
                text("通知"),
                Node::And(vec![text("意见"), Node::Not(Box::new(text("转发")))])
            ]))
        );
        assert_eq!(
            parse("“拥军优属”").unwrap(),
            Some(Node::Phrase {
                text: "拥军优属".to_string(),
                title_only: false
            })
        );
        assert_eq!(
            parse("(通知 OR 意见) 浦东").unwrap(),
            Some(Node::And(vec![
                Node::Or(vec![text("通知"), text("意见")]),
                text("浦东")
            ]))
        );
    }

    #[test]
    fn document_numbers_in_any_form_are_atoms() {
        let expected = Some(Node::Number("浦府办〔2010〕98号".parse().unwrap()));
        for q in [
            "浦府办[2010]98号",
            "浦府办(2010)98号",
            "浦府辦〔2010〕98號",
            "浦府办（2010）第98号",
        ] {
            assert_eq!(parse(q).unwrap(), expected, "{q}");
        }
        assert_eq!(
            parse("number:浦委辦發[2008]12號").unwrap(),
            Some(Node::OwnNumber("浦委办发〔2008〕12号".parse().unwrap()))
        );
        assert_eq!(
            parse("(number:浦府办(2010)98号 OR 通知)").unwrap(),
            Some(Node::Or(vec![
                Node::OwnNumber("浦府办〔2010〕98号".parse().unwrap()),
                text("通知")
            ]))
        );
    }

    #[test]
    fn fields() {
        assert_eq!(
            parse("date:2008-01-01..2010-12-31").unwrap(),
            Some(Node::Date(
                IsoDate::new(2008, 1, 1),
                IsoDate::new(2010, 12, 31)
            ))
        );
        assert_eq!(
            parse("date:..2009-02").unwrap(),
            Some(Node::Date(None, IsoDate::new(2009, 2, 28)))
        );
        assert_eq!(
            parse("year:2006..2010").unwrap(),
            Some(Node::Year(2006..=2010))
        );
        assert_eq!(
            parse("issuer:浦东新区人民政府").unwrap(),
            Some(Node::Issuer("浦东新区人民政府".to_string()))
        );
        assert_eq!(
            parse("title:\"双拥 工作\"").unwrap(),
            Some(Node::Phrase {
                text: "双拥 工作".to_string(),
                title_only: true
            })
        );
    }

    #[test]
    fn malformed_queries_say_where_and_why() {
        let cases = [
            ("\"拥军优属", 0, "never closed"),
            ("拥军 (春节", 3, "never closed"),
            ("拥军)", 2, "no opening"),
            ("()", 0, "empty parentheses"),
            ("date:2010-13-01", 5, "not a date"),
            ("date:2010-01-01..2009-01-01", 5, "starts"),
            ("foo:bar", 0, "unknown field `foo`"),
            ("OR 通知", 0, "OR needs a term"),
            ("通知 OR", 5, "a term is missing"),
            ("通知 -", 3, "needs a term"),
            ("number:浦府办", 7, "not a document number"),
            ("year:二〇一〇", 5, "not a year"),
            ("issuer:", 0, "needs a value"),
            ("通知 AND", 3, "AND needs a term"),
            ("通知 AND AND 意见", 3, "AND needs a term"),
            ("AND 通知", 0, "AND needs a term"),
        ];
        for (query, position, message) in cases {
            let e = parse(query).expect_err(query);
            assert_eq!(e.position, position, "{query}: {e}");
            assert!(e.message.contains(message), "{query}: {e}");
        }
    }

    #[test]
    fn a_long_chain_of_negations_is_read_without_recursion() {
        let x = || text("x");
        let dashes = format!("{}x", "-".repeat(999));
        assert_eq!(parse(&dashes).unwrap(), Some(Node::Not(Box::new(x()))));
        let nots = format!("{}x", "NOT ".repeat(250));
        assert_eq!(parse(&nots).unwrap(), Some(x()));
        assert_eq!(parse("NOT NOT x").unwrap(), Some(x()));
        let e = parse("NOT NOT").unwrap_err();
        assert_eq!(e.position, 4, "{e}");
    }

    #[test]
    fn parentheses_nested_too_deeply_are_refused_where_they_go_too_deep() {
        let nested = |depth: usize| format!("{}x{}", "(".repeat(depth), ")".repeat(depth));
        assert_eq!(parse(&nested(MAX_NESTING)).unwrap(), Some(text("x")));
        let e = parse(&nested(499)).unwrap_err();
        assert_eq!(e.position, MAX_NESTING, "{e}");
        assert!(e.message.contains("nested too deeply"), "{e}");
        let e = parse(&format!("{}x", "-(".repeat(400))).unwrap_err();
        assert!(e.message.contains("nested too deeply"), "{e}");
    }

    #[test]
    fn a_term_with_nothing_searchable_is_refused() {
        for (query, position) in [
            ("☃", 0),
            ("，，，", 0),
            ("\"，\"", 0),
            ("title:，", 6),
            ("NOT ☃", 4),
            ("拥军 。。", 3),
            ("\u{FFFD}", 0),
        ] {
            let e = parse(query).expect_err(query);
            assert_eq!(e.position, position, "{query}: {e}");
        }
        assert!(parse("\u{FFFD}").unwrap_err().message.contains("not UTF-8"));
        assert!(parse("拥军，").is_ok());
    }

    #[test]
    fn too_many_distinct_words_are_refused_and_repeats_do_not_count() {
        let distinct: String = (0..MAX_WORDS + 1)
            .map(|i| {
                format!(
                    "{} ",
                    char::from_u32(0x4E00 + 37 * i as u32).unwrap_or('一')
                )
            })
            .collect();
        let e = parse(&distinct).unwrap_err();
        assert!(e.message.contains("distinct words"), "{e}");
        assert!(parse(&"拥军 ".repeat(400)).is_ok());
        let quoted = format!("\"{}\"", distinct.replace(' ', ""));
        assert!(parse(&quoted).is_ok(), "a phrase is one term");
    }
}
