//! HTML → text with a real HTML parser (html5ever, through `scraper`): the text of the body in
//! document order, one line per block element, `script`, `style` and similar dropped.

use ego_tree::iter::Edge;
use scraper::{Html, Node};

/// Elements whose content is not text a reader sees.
const HIDDEN: &[&str] = &[
    "script", "style", "noscript", "template", "head", "iframe", "object", "svg", "select",
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
    let document = Html::parse_document(html);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut hidden_depth = 0usize;
    let mut title = String::new();
    let mut in_title = false;
    for edge in document.tree.root().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(el) => {
                    let name = el.name();
                    if name == "title" {
                        in_title = true;
                    }
                    if HIDDEN.contains(&name) {
                        hidden_depth += 1;
                    }
                    if BLOCKS.contains(&name) {
                        flush(&mut line, &mut lines);
                    }
                }
                Node::Text(text) if in_title => title.push_str(text),
                Node::Text(text) if hidden_depth == 0 => push_collapsed(&mut line, text),
                _ => {}
            },
            Edge::Close(node) => {
                if let Node::Element(el) = node.value() {
                    let name = el.name();
                    if name == "title" {
                        in_title = false;
                    }
                    if HIDDEN.contains(&name) {
                        hidden_depth = hidden_depth.saturating_sub(1);
                    }
                    if BLOCKS.contains(&name) {
                        flush(&mut line, &mut lines);
                    }
                }
            }
        }
    }
    flush(&mut line, &mut lines);
    let title = collapse(&title);
    if !title.is_empty() && !lines.iter().any(|l| l.contains(&title)) {
        lines.insert(0, title);
    }
    lines.join("\n")
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
    fn recognised_by_name_or_tag() {
        assert!(looks_like_html("a/b.HTM", ""));
        assert!(looks_like_html("x.txt", "  <!DOCTYPE html><html>"));
        assert!(!looks_like_html("x.txt", "关于<b>的通知"));
    }
}
