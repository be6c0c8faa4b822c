//! HTML → text with a real HTML tokenizer (html5ever's): the text in document order, one line
//! per block element, `script`, `style` and similar dropped, character references decoded.
//!
//! Only the tokenizer runs, not the tree builder: text needs no tree, and the tree builder's
//! search of the stack of open elements makes deeply nested markup quadratic (100,000 nested
//! `<div>` took a minute). The tokenizer is linear in the input.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// Elements whose content is not text a reader sees.
const HIDDEN: &[&str] = &[
    "script", "style", "noscript", "template", "iframe", "object", "svg", "select",
];

/// Elements that start a new line.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "center",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "ul",
];

/// Whether a file should be read as HTML: by its name, or by its first tag.
pub fn looks_like_html(path: &str, text: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".html") || lower.ends_with(".htm") || lower.ends_with(".xhtml") {
        return true;
    }
    let head: String = text
        .trim_start_matches('\u{FEFF}')
        .trim_start()
        .chars()
        .take(200)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// The visible text of an HTML document: whitespace collapsed as a browser would, one line per
/// block, blank lines dropped. The `<title>` is kept as the first line when the body does not
/// repeat it.
pub fn to_text(html: &str) -> String {
    let mut converter = HtmlText::new();
    let mut lines = converter.feed(html);
    lines.extend(converter.finish());
    lines.join("\n")
}

/// HTML → lines of text, fed a piece at a time.
pub struct HtmlText {
    tokenizer: Tokenizer<TextSink>,
    input: BufferQueue,
    /// Lines held back until it is known whether the body repeats the title; `None` once
    /// that is decided.
    held: Option<Vec<String>>,
    held_bytes: usize,
}

/// A run of text longer than this is cut into lines even where no block element ends it.
const MAX_LINE_BYTES: usize = 64 * 1024;
/// The longest title (an unclosed `<title>` would swallow the page).
const MAX_TITLE_BYTES: usize = 4096;

/// Text looked at to decide whether the body repeats the title.
const TITLE_LOOKAHEAD_BYTES: usize = 64 * 1024;

impl Default for HtmlText {
    fn default() -> Self {
        HtmlText::new()
    }
}

impl HtmlText {
    pub fn new() -> HtmlText {
        HtmlText {
            tokenizer: Tokenizer::new(TextSink::default(), TokenizerOpts::default()),
            input: BufferQueue::default(),
            held: Some(Vec::new()),
            held_bytes: 0,
        }
    }

    /// Feeds a piece of the document; the lines it completed.
    pub fn feed(&mut self, piece: &str) -> Vec<String> {
        self.input.push_back(StrTendril::from_slice(piece));
        let _ = self.tokenizer.feed(&self.input);
        let lines = std::mem::take(&mut self.tokenizer.sink.state.borrow_mut().lines);
        self.release(lines, false)
    }

    /// Ends the document; the lines left.
    pub fn finish(mut self) -> Vec<String> {
        self.tokenizer.end();
        let mut state = self.tokenizer.sink.state.take();
        flush(&mut state.line, &mut state.lines);
        let lines = std::mem::take(&mut state.lines);
        self.tokenizer.sink.state.replace(state);
        self.release(lines, true)
    }

    /// Passes lines on, holding them back while the title question is open.
    fn release(&mut self, lines: Vec<String>, end: bool) -> Vec<String> {
        let Some(held) = &mut self.held else {
            return lines;
        };
        self.held_bytes += lines.iter().map(String::len).sum::<usize>();
        held.extend(lines);
        if !end && self.held_bytes < TITLE_LOOKAHEAD_BYTES {
            return Vec::new();
        }
        let mut out = self.held.take().unwrap_or_default();
        let title = collapse(&self.tokenizer.sink.state.borrow().title);
        if !title.is_empty() && !out.iter().any(|l| l.contains(&title)) {
            out.insert(0, title);
        }
        out
    }
}

/// Collects the text while the tokenizer runs.
#[derive(Default)]
struct TextSink {
    state: RefCell<TextState>,
}

#[derive(Default)]
struct TextState {
    lines: Vec<String>,
    line: String,
    title: String,
    in_title: bool,
    /// Hidden elements open, by name (each closes at its own end tag).
    hidden: Vec<(String, usize)>,
}

impl TextState {
    fn is_hidden(&self) -> bool {
        self.hidden.iter().any(|(_, open)| *open > 0)
    }

    fn hidden_count(&mut self, name: &str) -> &mut usize {
        let at = match self.hidden.iter().position(|(n, _)| n == name) {
            Some(at) => at,
            None => {
                self.hidden.push((name.to_string(), 0));
                self.hidden.len() - 1
            }
        };
        &mut self.hidden[at].1
    }
}

impl TokenSink for TextSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut state = self.state.borrow_mut();
        match token {
            Token::TagToken(tag) => {
                let name: &str = &tag.name;
                let start = tag.kind == TagKind::StartTag;
                if BLOCKS.contains(&name) {
                    let state = &mut *state;
                    flush(&mut state.line, &mut state.lines);
                }
                if name == "title" {
                    state.in_title = start && !tag.self_closing;
                }
                if HIDDEN.contains(&name) && !tag.self_closing {
                    let open = state.hidden_count(name);
                    *open = if start {
                        *open + 1
                    } else {
                        open.saturating_sub(1)
                    };
                }
                if start && !tag.self_closing {
                    // What the tree builder would tell the tokenizer: these elements hold
                    // text that is not markup.
                    match name {
                        "script" => return TokenSinkResult::RawData(RawKind::ScriptData),
                        "style" | "iframe" | "xmp" | "noembed" | "noframes" => {
                            return TokenSinkResult::RawData(RawKind::Rawtext);
                        }
                        "title" | "textarea" => {
                            return TokenSinkResult::RawData(RawKind::Rcdata);
                        }
                        "plaintext" => return TokenSinkResult::Plaintext,
                        _ => {}
                    }
                }
            }
            // Past the longest title, the text of an unclosed `<title>` is the page's.
            Token::CharacterTokens(text)
                if state.in_title && state.title.len() < MAX_TITLE_BYTES =>
            {
                state.title.push_str(&text)
            }
            Token::CharacterTokens(text) if !state.is_hidden() => {
                let state = &mut *state;
                push_collapsed(&mut state.line, &text);
                // Text without a block element for pages on end: cut it into lines.
                if state.line.len() > MAX_LINE_BYTES {
                    flush(&mut state.line, &mut state.lines);
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

fn push_collapsed(line: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_whitespace() && c != '\u{3000}' {
            if !line.is_empty() && !line.ends_with(' ') {
                line.push(' ');
            }
        } else {
            line.push(c);
        }
    }
}

fn collapse(text: &str) -> String {
    let mut out = String::new();
    push_collapsed(&mut out, text);
    out.trim().to_string()
}

fn flush(line: &mut String, lines: &mut Vec<String>) {
    let trimmed = line.trim();
    if !trimmed.is_empty() {
        lines.push(trimmed.to_string());
    }
    line.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_in_blocks_without_scripts() {
        let html = r#"<!DOCTYPE html><html><head><title>关于印发办法的通知</title>
            <style>p { color: red }</style><script>var x = "<p>不是正文</p>";</script></head>
            <body><div class="nav">首页 &gt; 政策</div>
            <h1>关于印发办法的通知</h1><p>各区、县人民政府：<br>现将《办法》印发给你们，
            请认真贯彻执行。</p><script>alert(1)</script><p>上海市人民政府</p></body></html>"#;
        let text = to_text(html);
        assert_eq!(
            text,
            "首页 > 政策\n关于印发办法的通知\n各区、县人民政府：\n现将《办法》印发给你们， 请认真贯彻执行。\n上海市人民政府"
        );
        assert!(!text.contains("不是正文"));
        assert!(!text.contains("color"));
    }

    #[test]
    fn title_kept_when_the_body_lacks_it() {
        let text = to_text("<html><head><title>通知</title></head><body><p>正文</p></body></html>");
        assert_eq!(text, "通知\n正文");
    }

    #[test]
    fn deeply_nested_and_unclosed_markup_keeps_its_text() {
        let nested = format!(
            "{}关于印发办法的通知{}",
            "<div>".repeat(50_000),
            "</div>".repeat(50_000)
        );
        assert_eq!(to_text(&nested), "关于印发办法的通知");
        assert_eq!(
            to_text("<p>第一条 &lt;总则&gt;&#x3000;<b>规定<p>第二条</i>"),
            "第一条 <总则>\u{3000}规定\n第二条"
        );
        assert_eq!(
            to_text("<p>正文<script>if (a < b) { x = '</p>'; }</script>续</p>"),
            "正文续"
        );
    }

    #[test]
    fn recognised_by_name_or_tag() {
        assert!(looks_like_html("a/b.HTM", ""));
        assert!(looks_like_html("x.txt", "  <!DOCTYPE html><html>"));
        assert!(!looks_like_html("x.txt", "关于<b>的通知"));
    }
}
