//! Markdown exports of regulations: a `# title` line, header lines that each start with a date
//! (`2011年11月17日 上海市第十三届人民代表大会常务委员会第三十次会议通过`), the marker
//! `<!-- INFO END -->`, then the body with `##` chapter headings.
//!
//! The first header line is when and by whom the text was adopted: its date is the document's
//! date and its body (届 and 次会议 removed) the issuer.

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
    let mut out = extract(&fold::to_simplified(&body));
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
    let first_event = header.iter().find_map(|line| {
        let simp = fold::to_simplified(line.trim());
        let date = find_dates(&simp)
            .into_iter()
            .next()
            .filter(|d| d.start == 0)?;
        Some((date.date, simp[date.end..].trim().to_string()))
    });
    if let Some((date, event)) = first_event {
        out.date = Some(date);
        if let Some(issuer) = issuer_of_event(&event) {
            let previous = std::mem::replace(&mut out.issuers, vec![issuer]);
            out.issuer_aliases.extend(previous);
            out.issuer_aliases.retain(|a| !out.issuers.contains(a));
        }
    }
    out
}

/// `上海市第十三届人民代表大会常务委员会第三十次会议通过` → `上海市人民代表大会常务委员会`.
fn issuer_of_event(event: &str) -> Option<String> {
    let without_term = remove_ordinal(event, '届');
    let end = [
        "第", "令", "《", "会议", "通过", "公布", "发布", "批准", "修正", "修订",
    ]
    .iter()
    .filter_map(|w| without_term.find(w))
    .min()
    .unwrap_or(without_term.len());
    let issuer = without_term[..end]
        .trim()
        .replace("人大常委会", "人民代表大会常务委员会")
        .replace("常委会", "常务委员会");
    vocab::is_org_name(&issuer).then_some(issuer)
}

/// Removes the first `第…{unit}` (an ordinal such as 第十三届).
fn remove_ordinal(text: &str, unit: char) -> String {
    let Some(unit_at) = text.find(unit) else {
        return text.to_string();
    };
    match text[..unit_at].rfind('第') {
        Some(start)
            if text[start + '第'.len_utf8()..unit_at]
                .chars()
                .all(|c| vocab::NUMERALS.contains(c) || c.is_ascii_digit()) =>
        {
            format!("{}{}", &text[..start], &text[unit_at + unit.len_utf8()..])
        }
        _ => text.to_string(),
    }
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
        assert_eq!(e.date.map(|d| d.to_string()).as_deref(), Some("2011-11-17"));
        assert_eq!(e.issuers, ["上海市人民代表大会常务委员会"]);
    }

    #[test]
    fn text_without_marks() {
        let text = to_text(EXPORT);
        assert!(text.starts_with("上海口岸服务条例\n"));
        assert!(!text.contains("INFO END"));
        assert!(text.contains("\n第一章  总则\n"));
    }

    #[test]
    fn issuers_of_events() {
        assert_eq!(
            issuer_of_event("北京市第十一届人民代表大会第二次会议通过").as_deref(),
            Some("北京市人民代表大会")
        );
        assert_eq!(
            issuer_of_event("上海市第十三届人民代表大会常委会第二次会议通过").as_deref(),
            Some("上海市人民代表大会常务委员会")
        );
        assert_eq!(
            issuer_of_event("上海市人民政府令第1号公布").as_deref(),
            Some("上海市人民政府")
        );
        assert_eq!(issuer_of_event("施行"), None);
    }
}
