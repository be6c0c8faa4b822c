//! Splitting a compilation into its documents. Collections of notices are often pasted into
//! one file with a header line before each: `第一篇:…`, `第二篇：…`. Only such a header at the
//! start of a line splits (篇 occurs in prose too: `这篇文章`, `开篇`).

use std::ops::Range;

use crate::ingest::vocab;

/// One document's part of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section<'a> {
    pub text: &'a str,
    /// Byte range of `text` in the text that was split.
    pub range: Range<usize>,
}

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

/// The sections of `text`: one per header, the text before the first header joined to the
/// first section; the whole text when there is no header.
pub fn split(text: &str) -> Vec<Section<'_>> {
    let mut starts: Vec<usize> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if is_section_header(line) {
            starts.push(offset);
        }
        offset += line.len();
    }
    if starts.first() != Some(&0) {
        if starts.is_empty() {
            starts.push(0);
        } else {
            starts[0] = 0;
        }
    }
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| {
            let end = starts.get(i + 1).map_or(text.len(), |&next| next);
            let section = &text[start..end];
            let trimmed_end = start + section.trim_end_matches(['\n', '\r']).len();
            Section {
                text: &text[start..trimmed_end],
                range: start..trimmed_end,
            }
        })
        .collect()
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

    #[test]
    fn compilations_split_at_line_start_headers_only() {
        let text = "第一篇:甲\n正文，开篇:不算\n第二篇：乙\n正文二\n";
        let sections = split(text);
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].text, "第一篇:甲\n正文，开篇:不算");
        assert_eq!(sections[1].text, "第二篇：乙\n正文二");
        assert_eq!(&text[sections[1].range.clone()], sections[1].text);
    }

    #[test]
    fn a_single_document_is_one_section() {
        assert_eq!(split("标题\n正文").len(), 1);
        let sections = split("汇编说明\n第一篇：甲\n一\n第二篇：乙\n二");
        assert_eq!(sections.len(), 2);
        assert!(sections[0].text.starts_with("汇编说明"));
    }
}
