//! ASCII punctuation that replaced full-width punctuation in Chinese text: `,` `;` `:` `(` `)`
//! next to Han characters become `，` `；` `：` `（` `）`. Commas between digits (`1,000`),
//! times (`10:30`) and brackets around Latin text away from Chinese stay as they are.

use super::RepairLog;
use crate::lang::fold;
use crate::model::RepairKind;

/// Han or CJK punctuation (including the full-width marks this pass produces).
fn is_chinese(c: char) -> bool {
    fold::is_han(c) || fold::is_cjk_punct(c) || matches!(c, '“' | '”' | '‘' | '’')
}

pub fn widen(text: &str, log: &mut RepairLog) -> String {
    if !text.contains([',', ';', ':', '(', ')']) {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    let mut changed = widen_parentheses(&mut chars);
    for i in 0..chars.len() {
        let c = chars[i];
        if !matches!(c, ',' | ';' | ':') {
            continue;
        }
        let before = prev_non_space(&chars, i);
        let after = next_non_space(&chars, i);
        let left_chinese = before.is_some_and(is_chinese);
        // `100%,并有`: a figure ends the clause, Chinese continues it.
        let figure_then_han = before.is_some_and(|b| b.is_ascii_digit() || b == '%')
            && after.is_some_and(fold::is_han);
        let widened = figure_then_han
            || match c {
                ',' => {
                    left_chinese
                        && after.is_none_or(|a| is_chinese(a) || a.is_ascii_digit() || a == '\n')
                }
                _ => left_chinese,
            };
        if widened {
            chars[i] = match c {
                ',' => '，',
                ';' => '；',
                _ => '：',
            };
            changed += 1;
        }
    }
    log.add(RepairKind::PunctuationWidened, changed);
    chars.into_iter().collect()
}

fn prev_non_space(chars: &[char], i: usize) -> Option<char> {
    chars[..i].iter().rev().find(|c| **c != ' ').copied()
}

fn next_non_space(chars: &[char], i: usize) -> Option<char> {
    chars[i + 1..].iter().find(|c| **c != ' ').copied()
}

/// Pairs of `(` `)` on one line that enclose Chinese, or sit next to it; then lone ones whose
/// inner side is Chinese.
fn widen_parentheses(chars: &mut [char]) -> usize {
    let mut changed = 0;
    let mut open: Vec<usize> = Vec::new();
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '\n' => open.clear(),
            '(' => open.push(i),
            ')' => {
                if let Some(start) = open.pop() {
                    pairs.push((start, i));
                }
            }
            _ => {}
        }
    }
    let mut paired = vec![false; chars.len()];
    for &(start, end) in &pairs {
        paired[start] = true;
        paired[end] = true;
        let inner = &chars[start + 1..end];
        let encloses_chinese = inner.iter().any(|&c| is_chinese(c));
        let beside_chinese = inner.len() <= 6
            && (start > 0 && fold::is_han(chars[start - 1])
                || chars.get(end + 1).is_some_and(|&c| fold::is_han(c)));
        if encloses_chinese || beside_chinese {
            chars[start] = '（';
            chars[end] = '）';
            changed += 2;
        }
    }
    for i in 0..chars.len() {
        if paired[i] {
            continue;
        }
        let widened = match chars[i] {
            '(' => chars.get(i + 1).is_some_and(|&c| is_chinese(c)),
            ')' => i > 0 && is_chinese(chars[i - 1]),
            _ => continue,
        };
        if widened {
            chars[i] = if chars[i] == '(' { '（' } else { '）' };
            changed += 1;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> String {
        widen(text, &mut RepairLog::default())
    }

    #[test]
    fn chinese_punctuation_is_restored() {
        assert_eq!(
            run("新區各部、委、辦、局,各區級機關,在區各部隊:"),
            "新區各部、委、辦、局，各區級機關，在區各部隊："
        );
        assert_eq!(run("(一)廣泛開展"), "（一）廣泛開展");
        assert_eq!(run("印發(共印180份)"), "印發（共印180份）");
        assert_eq!(
            run("(滬委辦〔2008〕12號,以下簡稱《通知》)精神"),
            "（滬委辦〔2008〕12號，以下簡稱《通知》）精神"
        );
        assert_eq!(run("辦公室通知)(上海市"), "辦公室通知）（上海市");
        assert_eq!(run("主題詞: 民政"), "主題詞： 民政");
        assert_eq!(run("任務, 共獲"), "任務， 共獲");
        assert_eq!(run("”五五“,"), "”五五“，");
        assert_eq!(run("工作;基層"), "工作；基層");
        assert_eq!(run("覆蓋率達100%,並有98人"), "覆蓋率達100%，並有98人");
    }

    #[test]
    fn ascii_contexts_stay() {
        for text in [
            "1,000元",
            "上午10:30",
            "see (a) and (b)",
            "f(x) = 1",
            "a, b; c: d",
        ] {
            assert_eq!(run(text), text, "{text}");
        }
    }
}
