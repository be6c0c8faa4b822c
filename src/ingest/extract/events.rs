//! The events a regulation's header records: `2011年11月17日 上海市第十三届人民代表大会常务委员会
//! 第三十次会议通过` on a line of its own (Markdown exports), or clauses of an adoption note under
//! the title (`（2011年11月17日……通过 根据2020年5月14日……修正）`). Each event is a date, the act
//! (the last event word of its clause: `……《关于修改……的决定》第一次修正` is a 修正) and the organ,
//! where the clause names one.

use super::find_dates;
use crate::lang::vocab;
use crate::model::Event;

/// Words of the events a header records.
pub const EVENT_WORDS: [&str; 6] = ["通过", "公布", "发布", "批准", "修正", "修订"];

/// The event of one clause (`2020年5月14日上海市……第一次修正`): its first date, and after it
/// an event word; `None` for a clause that records no event (`自……起施行`). A header line
/// (`dated_line`) is an event by its place even when cut off before its word.
pub fn event_of_clause(clause: &str, dated_line: bool) -> Option<Event> {
    if clause.contains("施行") {
        return None;
    }
    let date = find_dates(clause).into_iter().next()?;
    let rest = clause[date.end..].trim();
    let action = EVENT_WORDS
        .iter()
        .filter_map(|w| rest.rfind(w).map(|at| (at, *w)))
        .max()
        .map(|(_, w)| w.to_string());
    if action.is_none() && !dated_line {
        return None;
    }
    Some(Event {
        date: date.date,
        action,
        by: issuer_of_event(rest),
    })
}

/// The events of an adoption note, oldest first: each clause runs from one date to the next.
pub fn events_of_note(note: &str) -> Vec<Event> {
    let dates = find_dates(note);
    let mut events: Vec<Event> = dates
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let end = dates.get(i + 1).map_or(note.len(), |next| next.start);
            event_of_clause(&note[d.start..end], false)
        })
        .collect();
    events.sort_by_key(|e| e.date);
    events
}

/// `上海市第十三届人民代表大会常务委员会第三十次会议通过` → `上海市人民代表大会常务委员会`.
pub fn issuer_of_event(event: &str) -> Option<String> {
    let without_term = remove_ordinal(event.trim_start_matches("根据"), '届');
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

    #[test]
    fn an_adoption_note_lists_its_events_with_their_acts() {
        let events = events_of_note(
            "（2003年8月27日上海市第十二届人民代表大会常务委员会第六次会议通过 根据2010年9月17日上海市第十三届人民代表大会常务委员会第二十一次会议《关于修改本市部分地方性法规的决定》修正 2018年12月20日起施行）",
        );
        let got: Vec<(String, &str, Option<&str>)> = events
            .iter()
            .map(|e| {
                (
                    e.date.to_string(),
                    e.action.as_deref().unwrap_or_default(),
                    e.by.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "2003-08-27".to_string(),
                    "通过",
                    Some("上海市人民代表大会常务委员会")
                ),
                (
                    "2010-09-17".to_string(),
                    "修正",
                    Some("上海市人民代表大会常务委员会")
                ),
            ]
        );
    }
}
