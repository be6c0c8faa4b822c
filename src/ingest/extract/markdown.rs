//! Markdown exports of regulations: a `# title` line, header lines that each start with a date
//! (`2011年11月17日 上海市第十三届人民代表大会常务委员会第三十次会议通过`), the marker
//! `<!-- INFO END -->`, then the body with `##` chapter headings.
//!
//! Each header line is an event (see [`super::events`]): the first is when and by whom the text
//! was adopted (its organ, 届 and 次会议 removed, the issuer), the latest dates this version.

use super::events::event_of_clause;
use super::{Extracted, extract, find_dates};
use crate::lang::fold;
use crate::lang::vocab;

const INFO_END: &str = "<!-- INFO END -->";

/// Whether `text` (from `path`) is such an export.
pub fn is_markdown(path: &str, text: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".md")
        || lower.ends_with(".markdown")
        || (text.trim_start().starts_with("# ") && text.contains(INFO_END))
}

/// The text a reader sees: heading marks and HTML comments removed.
pub fn to_text(markdown: &str) -> String {
    markdown
        .lines()
        .filter(|line| !(line.trim_start().starts_with("<!--") && line.trim_end().ends_with("-->")))
        .map(|line| line.trim_start_matches('#').trim_start_matches(' '))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Metadata of a Markdown export: the header for title, date and issuer, the body for the rest.
pub fn extract_markdown(markdown: &str) -> Extracted {
    let lines: Vec<&str> = markdown.lines().collect();
    let title_at = lines.iter().position(|l| l.trim_start().starts_with("# "));
    let header_end = lines.iter().position(|l| l.trim() == INFO_END);
    let body_from = header_end.or(title_at).map_or(0, |i| i + 1);
    let body = to_text(&lines[body_from..].join("\n"));
    let body_simplified = fold::to_simplified(&body);
    let mut out = extract(&body_simplified);
    let title =
        title_at.map(|i| fold::to_simplified(lines[i].trim_start().trim_start_matches('#').trim()));
    if let Some(title) = title.filter(|t| !t.is_empty()) {
        out.doc_type = vocab::doc_type_of(&title).map(str::to_string);
        out.title = Some(title);
    }
    let header = match (title_at, header_end) {
        (Some(t), Some(e)) if t < e => &lines[t + 1..e],
        _ => &lines[..0],
    };
    out.events = header
        .iter()
        .map(|line| fold::to_simplified(line.trim()))
        .filter(|simp| find_dates(simp).first().is_some_and(|d| d.start == 0))
        .filter_map(|simp| event_of_clause(&simp, true))
        .collect();
    out.events.sort_by_key(|e| e.date);
    // The version this text is: its latest event. The organ that first adopted it issues it.
    if let Some(latest) = out.events.last() {
        out.date = Some(latest.date);
    }
    if let Some(issuer) = out.events.first().and_then(|e| e.by.clone()) {
        let previous = std::mem::replace(&mut out.issuers, vec![issuer]);
        out.issuer_aliases.extend(previous);
        out.issuer_aliases.retain(|a| !out.issuers.contains(a));
    }
    out.valid_until = super::citations::valid_until(&body_simplified, out.date);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPORT: &str = "# 上海口岸服务条例

2011年11月17日 上海市第十三届人民代表大会常务委员会第三十次会议通过

2020年5月14日 上海市第十五届人民代表大会常务委员会第二十一次会议《关于修改本市部分地方性法规的决定》第一次修正

<!-- INFO END -->

## 第一章  总则

第一条 为了规范口岸开放，制定本条例。
";

    #[test]
    fn header_gives_title_date_issuer() {
        assert!(is_markdown("x.md", EXPORT));
        let e = extract_markdown(EXPORT);
        assert_eq!(e.title.as_deref(), Some("上海口岸服务条例"));
        assert_eq!(e.doc_type.as_deref(), Some("条例"));
        // The version's date: its latest event, the revision of 2020.
        assert_eq!(e.date.map(|d| d.to_string()).as_deref(), Some("2020-05-14"));
        let events: Vec<(String, &str)> = e
            .events
            .iter()
            .map(|e| (e.date.to_string(), e.action.as_deref().unwrap_or_default()))
            .collect();
        assert_eq!(
            events,
            [
                ("2011-11-17".to_string(), "通过"),
                ("2020-05-14".to_string(), "修正")
            ]
        );
        assert_eq!(e.issuers, ["上海市人民代表大会常务委员会"]);
    }

    #[test]
    fn text_without_marks() {
        let text = to_text(EXPORT);
        assert!(text.starts_with("上海口岸服务条例\n"));
        assert!(!text.contains("INFO END"));
        assert!(text.contains("\n第一章  总则\n"));
    }
}
