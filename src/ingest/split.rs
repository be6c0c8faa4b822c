//! Splitting a compilation into its documents. Collections of notices are often pasted into
//! one file with a header line before each: `第一篇:…`, `第二篇：…`. Only such a header at the
//! start of a line splits (篇 occurs in prose too: `这篇文章`, `开篇`).
//!
//! The [`Sectioner`] takes the file a line at a time, so no file is ever held whole, and cuts a
//! section that grows past a limit into parts, so no document is larger than the limit.

use std::ops::Range;

use crate::lang::vocab;

/// Whether `line` is a compilation header: `第` + a numeral + `篇`, a colon, then the title.
/// A pinyin annotation between 篇 and the colon (damage) does not hide it.
pub fn is_section_header(line: &str) -> bool {
    let mut chars = line.trim_start().chars().peekable();
    if chars.next() != Some('第') {
        return false;
    }
    let mut numerals = 0;
    while chars
        .peek()
        .is_some_and(|c| vocab::NUMERALS.contains(*c) || c.is_ascii_digit())
    {
        chars.next();
        numerals += 1;
    }
    if numerals == 0 || chars.next() != Some('篇') {
        return false;
    }
    let rest: String = chars.collect();
    let rest = match rest.strip_prefix('(') {
        Some(after) => after.split_once(')').map_or("", |(_, r)| r).to_string(),
        None => rest,
    };
    rest.starts_with([':', '：'])
}

/// The text of one section as it was gathered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub text: String,
    /// The source bytes it was decoded from, where the lines knew theirs.
    pub bytes: Option<Range<usize>>,
    /// Its characters' positions in the whole text gathered.
    pub chars: Range<usize>,
    /// 1 for a section in one piece; 2, 3 … for the further parts of a section longer than
    /// the limit, cut at a line break.
    pub part: u32,
}

/// Gathers lines into sections: a new one at each header (the text before the first header
/// belongs to the first section), and a new part when a section would grow past
/// `max_bytes`, so no document holds more than that. Parts are cut at line breaks; a single
/// line longer than the limit is cut between characters (at the pieces it is decoded in).
#[derive(Debug)]
pub struct Sectioner {
    split_at_headers: bool,
    max_bytes: usize,
    newline_bytes: usize,
    current: String,
    bytes: Option<Range<usize>>,
    /// Whether every line of the current section knew its source bytes.
    exact: bool,
    seen_header: bool,
    at_line_start: bool,
    part: u32,
    /// Characters pushed before the current section.
    chars_before: usize,
}

impl Sectioner {
    /// `newline_bytes`: source bytes of one line break, to leave trailing ones out of the
    /// byte range.
    pub fn new(split_at_headers: bool, max_bytes: usize, newline_bytes: usize) -> Sectioner {
        Sectioner {
            split_at_headers,
            max_bytes,
            newline_bytes,
            current: String::new(),
            bytes: None,
            exact: true,
            seen_header: false,
            at_line_start: true,
            part: 1,
            chars_before: 0,
        }
    }

    /// Adds a line (with its line break, if it has one) or a piece of a long line; returns
    /// the section it completes, if any.
    pub fn push(&mut self, line: &str, bytes: Option<Range<usize>>) -> Option<Section> {
        let header = self.split_at_headers && self.at_line_start && is_section_header(line);
        // The text before the first header belongs to the first section, unless it was so
        // long that it has been cut already.
        let done =
            if header && (self.seen_header || self.part > 1) && !self.current.trim().is_empty() {
                let section = self.take();
                self.part = 1;
                section
            } else if !self.current.is_empty() && self.current.len() + line.len() > self.max_bytes {
                let section = self.take();
                if section.is_some() {
                    self.part += 1;
                }
                section
            } else {
                None
            };
        self.seen_header |= header;
        self.at_line_start = line.ends_with('\n');
        self.current.push_str(line);
        match (bytes, &mut self.bytes) {
            (Some(new), Some(range)) => range.end = new.end,
            (Some(new), None) if self.current.len() == line.len() => self.bytes = Some(new),
            _ => self.exact = false,
        }
        done
    }

    /// The last section.
    pub fn finish(mut self) -> Option<Section> {
        self.take()
    }

    fn take(&mut self) -> Option<Section> {
        let mut text = std::mem::take(&mut self.current);
        let all_chars = text.chars().count();
        let trimmed = text.len() - text.trim_end_matches(['\n', '\r']).len();
        text.truncate(text.len() - trimmed);
        let start = self.chars_before;
        self.chars_before += all_chars;
        let bytes = self.bytes.take().filter(|_| self.exact).map(|range| {
            range.start
                ..range
                    .end
                    .saturating_sub(trimmed * self.newline_bytes)
                    .max(range.start)
        });
        self.exact = true;
        // The trimmed line breaks are one character (and byte) each in the text.
        let chars = start..start + all_chars - trimmed;
        (!text.is_empty()).then_some(Section {
            text,
            bytes,
            chars,
            part: self.part,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert!(is_section_header("第一篇:中共浦東新區委員會"));
        assert!(is_section_header("第十二篇：关于"));
        assert!(is_section_header("第三篇(piān):标题"));
        assert!(!is_section_header("这是第一篇文章"));
        assert!(!is_section_header("第一篇文章写得好"));
        assert!(!is_section_header("第一条 为了"));
    }

    fn split(text: &str, max_bytes: usize) -> Vec<Section> {
        let mut sectioner = Sectioner::new(true, max_bytes, 1);
        let mut sections = Vec::new();
        let mut at = 0;
        for line in text.split_inclusive('\n') {
            sections.extend(sectioner.push(line, Some(at..at + line.len())));
            at += line.len();
        }
        sections.extend(sectioner.finish());
        sections
    }

    #[test]
    fn compilations_split_at_line_start_headers_only() {
        let text = "第一篇:甲\n正文，开篇:不算\n第二篇：乙\n正文二\n";
        let sections = split(text, usize::MAX);
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].text, "第一篇:甲\n正文，开篇:不算");
        assert_eq!(sections[1].text, "第二篇：乙\n正文二");
        assert_eq!(&text[sections[1].bytes.clone().unwrap()], sections[1].text);
        assert_eq!(&text[sections[0].bytes.clone().unwrap()], sections[0].text);
    }

    #[test]
    fn a_single_document_is_one_section() {
        assert_eq!(split("标题\n正文", usize::MAX).len(), 1);
        let sections = split("汇编说明\n第一篇：甲\n一\n第二篇：乙\n二", usize::MAX);
        assert_eq!(sections.len(), 2);
        assert!(sections[0].text.starts_with("汇编说明"));
    }

    #[test]
    fn a_section_past_the_limit_is_cut_into_parts_at_line_breaks() {
        let line = "第一条 本条例自公布之日起施行。\n";
        let text = line.repeat(10);
        let sections = split(&text, line.len() * 4);
        let parts: Vec<u32> = sections.iter().map(|s| s.part).collect();
        assert_eq!(parts, [1, 2, 3]);
        assert!(sections.iter().all(|s| s.text.len() <= line.len() * 4));
        let joined: String = sections.iter().map(|s| format!("{}\n", s.text)).collect();
        assert_eq!(joined, text, "nothing is lost at a cut");
        for s in &sections {
            assert_eq!(&text[s.bytes.clone().unwrap()], s.text);
            let chars: String = text
                .chars()
                .skip(s.chars.start)
                .take(s.chars.len())
                .collect();
            assert_eq!(chars, s.text);
        }
        // A preface cut into parts does not swallow the first section.
        let long = format!("{}第一篇：甲\n正文\n", line.repeat(10));
        let sections = split(&long, line.len() * 4);
        let last = sections.last().unwrap();
        assert!(
            last.text.starts_with("第一篇：甲") && last.part == 1,
            "{sections:?}"
        );
    }
}
