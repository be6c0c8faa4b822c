//! Reversing damage done to GBK bytes before the text was decoded.
//!
//! The mechanism (reproduced byte for byte on the seed compilation): a tool inserted a pinyin
//! annotation `(py)` after every occurrence of the GBK bytes of certain characters. Where those
//! two bytes straddled two adjacent characters (the trail byte of one and the lead byte of the
//! next), the annotation landed between the lead and trail bytes of the second character. A
//! lenient decoder then read that lead byte together with `(` as one invalid pair and wrote
//! `?`, and read the bytes after the annotation one byte out of step until an ASCII byte
//! brought it back into line. The same decoder wrote `?` for a lead byte cut off at the end of a
//! chunk, and silently dropped byte pairs that are private-use characters.
//!
//! Reversal, in GBK byte space:
//! - a complete `(py)` annotation is an insertion: its bytes are dropped;
//! - `?py)` is an annotation whose `(` swallowed a byte: the swallowed byte is the trail byte of
//!   the character that is read `py` and whose lead byte is the byte before the `?`. It is
//!   spliced back;
//! - if no such character exists, a private-use pair was dropped just before: the annotated
//!   character is one this file annotates with `py` elsewhere, and the dropped pair's first byte
//!   is chosen among the few that make it private use by the words around it (flagged);
//! - a lone `?` is one lost byte. After an unpaired lead byte it was that lead's trail; before
//!   text that reads implausibly it was a lead byte, and the bytes after it are re-aligned by
//!   one. The lost character itself stays `?`: the bytes do not determine it.
//!
//! A line is only rewritten when one of these reversals applies; text that merely contains a
//! `?` is left as it is.

use std::collections::{HashMap, HashSet};

use encoding_rs::GB18030;

use super::RepairLog;
use crate::lang::{lexicon, reading};
use crate::model::{RepairKind, WarningKind};

/// The characters a file's annotation tool annotated, by reading, learned from the intact
/// annotations in the same file (the tool's list is fixed, so its other entries are unknown).
#[derive(Debug, Default)]
pub struct AnnotatedChars {
    by_reading: HashMap<String, HashSet<char>>,
}

impl AnnotatedChars {
    /// Learns from every `X(py)` in `text` where `py` is a toned syllable `X` can be read as.
    pub fn learn(text: &str) -> Self {
        let mut learned = AnnotatedChars::default();
        learned.learn_more(text);
        learned
    }

    /// Learns from another piece of the same file (an annotation never spans lines).
    pub fn learn_more(&mut self, text: &str) {
        for line in text.split('\n').filter(|line| line.contains('(')) {
            let chars: Vec<char> = line.chars().collect();
            for (i, &c) in chars.iter().enumerate() {
                if c != '(' || i == 0 || !crate::lang::fold::is_han(chars[i - 1]) {
                    continue;
                }
                if let Some((syllable, _)) = pinyin_then_close(&chars, i + 1)
                    && reading::reads_as(chars[i - 1], &syllable)
                {
                    self.by_reading
                        .entry(syllable)
                        .or_default()
                        .insert(chars[i - 1]);
                }
            }
        }
    }

    fn get(&self, syllable: &str) -> Option<&HashSet<char>> {
        self.by_reading.get(syllable)
    }
}

/// Pinyin letters and a closing parenthesis at `chars[from..]`: the letters and the index after
/// `)`.
pub fn letters_then_close(chars: &[char], from: usize) -> Option<(String, usize)> {
    let mut end = from;
    while end < chars.len() && end - from <= 7 && reading::is_pinyin_letter(chars[end]) {
        end += 1;
    }
    if end == from || chars.get(end) != Some(&')') {
        return None;
    }
    Some((chars[from..end].iter().collect(), end + 1))
}

/// `py)` at `chars[from..]`: a toned Mandarin syllable and a closing parenthesis. Returns the
/// syllable and the index after `)`.
pub fn pinyin_then_close(chars: &[char], from: usize) -> Option<(String, usize)> {
    letters_then_close(chars, from)
        .filter(|(syllable, _)| reading::has_tone_mark(syllable) && reading::is_syllable(syllable))
}

/// One unit of a damaged line in GBK byte space.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    Byte(u8),
    /// ASCII `,` `;` `:` — which may be the full-width form a later conversion made ASCII.
    Punct(u8),
    /// A byte the decoder lost and wrote as `?`.
    Lost,
    /// `?py)`: an annotation whose `(` swallowed one byte.
    Swallowed(String),
}

/// The full-width GBK bytes of an ASCII punctuation mark.
fn full_width_bytes(ascii: u8) -> [u8; 2] {
    match ascii {
        b',' => [0xA3, 0xAC],
        b';' => [0xA3, 0xBB],
        _ => [0xA3, 0xBA],
    }
}

/// Repairs one line if it shows the damage; `None` leaves it unchanged.
pub fn repair_line(line: &str, learned: &AnnotatedChars, log: &mut RepairLog) -> Option<String> {
    if !line.contains('?') {
        return None;
    }
    let (mut items, annotations) = to_items(line)?;
    let mut changes = LineChanges {
        annotations,
        ..LineChanges::default()
    };
    resolve_swallowed(&mut items, learned, &mut changes);
    // A spliced byte that starts a character was the lead of the character after a straddle:
    // the decoder read the bytes after it out of step.
    let starts = char_starts(&items);
    let out_of_step: Vec<bool> = changes
        .spliced
        .iter()
        .map(|s| s.is_some_and(|at| starts.binary_search(&at).is_ok()))
        .collect();
    let text = decode_items(&mut items, &mut changes.realigned);
    if changes.straddles + changes.realigned == 0 {
        return None;
    }
    log.add(RepairKind::GbkStraddleReversed, changes.straddles);
    log.add(RepairKind::GbkRealigned, changes.realigned);
    log.add(RepairKind::PinyinAnnotationRemoved, changes.annotations);
    log.add(RepairKind::GbkDroppedPairInferred, changes.inferred.len());
    for run in long_out_of_step_runs(line, &out_of_step) {
        log.warn(
            WarningKind::PossibleLoss,
            format!(
                "`{run}` was read out of step and has been re-aligned; a private-use byte pair the decoder dropped inside it would have taken two characters' bytes with it undetectably"
            ),
        );
    }
    for choice in &changes.inferred {
        log.warn(
            WarningKind::InferredByContext,
            format!(
                "a character lost with a dropped private-use byte pair was chosen among the few the bytes allow by the words around it: {choice}"
            ),
        );
    }
    Some(text)
}

/// Out-of-step runs this long or longer are flagged: each junction of a run has roughly one
/// chance in seven of being a private-use pair, which the decoder dropped without a trace.
const FLAGGED_RUN: usize = 3;
/// Characters of a run quoted in its warning.
const MAX_RUN_SHOWN: usize = 40;

/// The runs of double-byte characters the decoder read out of step after a straddle: from the
/// `?py)` to the next ASCII character. `out_of_step` says, for each `?py)` in order, whether it
/// was a straddle.
fn long_out_of_step_runs(line: &str, out_of_step: &[bool]) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut runs = Vec::new();
    let mut site = 0;
    for i in 0..chars.len() {
        if chars[i] != '?' {
            continue;
        }
        let Some((_, end)) = pinyin_then_close(&chars, i + 1) else {
            continue;
        };
        let straddle = out_of_step.get(site).copied().unwrap_or(false);
        site += 1;
        let run: String = chars[end..]
            .iter()
            .take_while(|c| !c.is_ascii())
            .take(MAX_RUN_SHOWN)
            .collect();
        if straddle && run.chars().count() >= FLAGGED_RUN {
            runs.push(run);
        }
    }
    runs
}

#[derive(Debug, Default)]
struct LineChanges {
    annotations: usize,
    straddles: usize,
    realigned: usize,
    /// Each character chosen by context, shown in its context: `特[色]經`.
    inferred: Vec<String>,
    /// For each `?py)` in order, where its spliced-back byte ended up, if it was resolved.
    spliced: Vec<Option<usize>>,
}

/// The line as GBK bytes with the damage marked; `None` if it has no damage to look at or a
/// character GB18030 cannot hold (then it was never GBK).
fn to_items(line: &str) -> Option<(Vec<Item>, usize)> {
    let chars: Vec<char> = line.chars().collect();
    let mut items = Vec::with_capacity(line.len());
    let mut annotations = 0;
    let mut damaged = false;
    // Characters taken as they are, encoded a run at a time (the encoder is slow per call).
    let mut run = String::new();
    let flush = |run: &mut String, items: &mut Vec<Item>| -> Option<()> {
        if run.is_empty() {
            return Some(());
        }
        let (bytes, _, unmappable) = encoding_rs::GBK.encode(run);
        if unmappable {
            return None;
        }
        items.extend(bytes.iter().map(|&b| Item::Byte(b)));
        run.clear();
        Some(())
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '?' => {
                flush(&mut run, &mut items)?;
                damaged = true;
                if let Some((syllable, end)) = pinyin_then_close(&chars, i + 1) {
                    items.push(Item::Swallowed(syllable));
                    i = end;
                } else {
                    items.push(Item::Lost);
                    i += 1;
                }
            }
            '(' if pinyin_then_close(&chars, i + 1).is_some() => {
                flush(&mut run, &mut items)?;
                annotations += 1;
                i = pinyin_then_close(&chars, i + 1)?.1;
            }
            ',' | ';' | ':' => {
                flush(&mut run, &mut items)?;
                items.push(Item::Punct(c as u8));
                i += 1;
            }
            _ => {
                run.push(c);
                i += 1;
            }
        }
    }
    flush(&mut run, &mut items)?;
    damaged.then_some((items, annotations))
}

/// Decodes one GBK pair or four-byte sequence, if it is a single valid character.
fn decode_char(bytes: &[u8]) -> Option<char> {
    let text = GB18030.decode_without_bom_handling_and_without_replacement(bytes)?;
    let mut chars = text.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

fn is_trail(b: u8) -> bool {
    (0x40..=0xFE).contains(&b) && b != 0x7F
}

/// Splices back the bytes that `?py)` swallowed, building the line anew in one pass.
fn resolve_swallowed(items: &mut Vec<Item>, learned: &AnnotatedChars, changes: &mut LineChanges) {
    let mut out: Vec<Item> = Vec::with_capacity(items.len() + 8);
    // Where the text before the current site can be decoded from without knowing what came
    // earlier: after the last item no character spans.
    let mut boundary = 0;
    for k in 0..items.len() {
        let Item::Swallowed(syllable) = &items[k] else {
            if is_boundary(&items[k]) {
                boundary = out.len() + 1;
            }
            out.push(items[k].clone());
            continue;
        };
        let prev = match out.last() {
            Some(Item::Byte(b)) if *b >= 0x81 => Some(*b),
            _ => None,
        };
        let replacement = prev.and_then(|lead| {
            straddled_trail(&items[k + 1..], lead, syllable, learned)
                .map(|t| {
                    changes.straddles += 1;
                    vec![Item::Byte(t)]
                })
                .or_else(|| {
                    let end = out.len() - 1;
                    let before =
                        &out[boundary.max(end.saturating_sub(MAX_CONTEXT_ITEMS)).min(end)..end];
                    dropped_pair(before, lead, syllable, learned).map(|(bytes, choice)| {
                        changes.straddles += 1;
                        changes.inferred.push(choice);
                        bytes.into_iter().map(Item::Byte).collect()
                    })
                })
        });
        changes.spliced.push(
            replacement
                .as_ref()
                .map(|bytes| out.len() + bytes.len() - 1),
        );
        match replacement {
            Some(bytes) => out.extend(bytes),
            None => {
                boundary = out.len() + 1;
                out.push(Item::Lost);
            }
        }
    }
    *items = out;
}

/// Items before a site looked at to read the character before it: enough for any context,
/// few enough that a line of many sites stays linear.
const MAX_CONTEXT_ITEMS: usize = 256;

/// Whether no character spans `item`: decoding can start right after it.
fn is_boundary(item: &Item) -> bool {
    match item {
        Item::Byte(b) => *b < 0x30,
        Item::Punct(_) | Item::Lost | Item::Swallowed(_) => true,
    }
}

/// The item indices at which a character starts, reading from the start of the line.
fn char_starts(items: &[Item]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i < items.len() {
        starts.push(i);
        i = step(items, i).1;
    }
    starts
}

/// The trail byte of the character read `syllable` whose lead byte is `lead`, if the bytes and
/// the file's own annotations determine one.
fn straddled_trail(
    following: &[Item],
    lead: u8,
    syllable: &str,
    learned: &AnnotatedChars,
) -> Option<u8> {
    let mut candidates: Vec<(u8, char)> = (0x40..=0xFE)
        .filter(|&t| is_trail(t))
        .filter_map(|t| decode_char(&[lead, t]).map(|c| (t, c)))
        .filter(|&(_, c)| reading::reads_as(c, syllable))
        .collect();
    let narrow = |candidates: &mut Vec<(u8, char)>, keep: &dyn Fn(char) -> bool| {
        if candidates.iter().any(|&(_, c)| keep(c)) {
            candidates.retain(|&(_, c)| keep(c));
        }
    };
    narrow(&mut candidates, &|c| {
        learned.get(syllable).is_some_and(|s| s.contains(&c))
    });
    narrow(&mut candidates, &|c| reading::reads_exactly_as(c, syllable));
    match candidates.as_slice() {
        [] => None,
        [(t, _)] => Some(*t),
        _ => {
            // Several characters fit: the one whose bytes make the following text read best.
            let scored: Vec<(i32, u8)> = candidates
                .iter()
                .map(|&(t, _)| {
                    let mut trial = vec![Item::Byte(lead), Item::Byte(t)];
                    trial.extend(following.iter().take(12).cloned());
                    let text: Vec<char> = decode_items(&mut trial, &mut 0).chars().collect();
                    (lexicon::plausibility(&text), t)
                })
                .collect();
            let best = scored.iter().map(|s| s.0).max()?;
            let mut winners = scored.iter().filter(|s| s.0 == best);
            let first = winners.next()?.1;
            winners.next().is_none().then_some(first)
        }
    }
}

/// The bytes lost when a private-use pair was dropped just before a swallowed annotation: the
/// second half of the character before (`zone`), the annotated character's lead, and its trail;
/// and the choice shown in context. `before` are the items before the lead byte `lead_before`.
fn dropped_pair(
    before: &[Item],
    lead_before: u8,
    syllable: &str,
    learned: &AnnotatedChars,
) -> Option<(Vec<u8>, String)> {
    let annotated = learned.get(syllable)?;
    let context = decode_items(&mut before.to_vec(), &mut 0).chars().last()?;
    let mut found: Vec<(Vec<u8>, String)> = Vec::new();
    for &c in annotated {
        let mut buf = [0; 4];
        let (bytes, _, _) = encoding_rs::GBK.encode(c.encode_utf8(&mut buf));
        let [lead, trail] = bytes.as_ref() else {
            continue;
        };
        for zone in private_use_firsts(*lead) {
            let Some(d) = decode_char(&[lead_before, zone]) else {
                continue;
            };
            let pair_before = format!("{context}{d}");
            let pair_after = format!("{d}{c}");
            if lexicon::is_word(&pair_before) || lexicon::is_word(&pair_after) {
                found.push((vec![zone, *lead, *trail], format!("{context}[{d}]{c}")));
            }
        }
    }
    match found.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    }
}

/// First bytes `z` for which `[z, second]` lies in a GBK user-defined (private-use) area.
fn private_use_firsts(second: u8) -> Vec<u8> {
    let mut firsts = Vec::new();
    if (0xA1..=0xFE).contains(&second) {
        firsts.extend(0xAA..=0xAF);
        firsts.extend(0xF8..=0xFE);
    }
    if (0x40..=0xA0).contains(&second) && second != 0x7F {
        firsts.extend(0xA1..=0xA7);
    }
    firsts
}

/// Decodes the items; a lost byte becomes `?`. Counts re-alignments in `realigned`. A
/// re-alignment rewrites the item after the lost byte in place, so the line is read once.
fn decode_items(items: &mut [Item], realigned: &mut usize) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < items.len() {
        if items[i] == Item::Lost {
            out.push('?');
            match realign(items, i) {
                Some(Shift::Skip) => {
                    *realigned += 1;
                    i += 2;
                }
                Some(Shift::Trail(byte)) => {
                    *realigned += 1;
                    items[i + 1] = Item::Byte(byte);
                    i += 1;
                }
                None => i += 1,
            }
            continue;
        }
        let (unit, next) = step(items, i);
        out.push_str(&unit);
        i = next;
    }
    out
}

/// How the bytes after a lost byte are read one byte later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shift {
    /// The byte after the lost one was the lost character's trail: skip it.
    Skip,
    /// The punctuation mark after it was a full-width mark whose first byte was that trail:
    /// read its second byte.
    Trail(u8),
}

/// Decodes the unit at `items[i]` (not a lost byte): its text and the index after it.
fn step(items: &[Item], i: usize) -> (String, usize) {
    match &items[i] {
        Item::Byte(b) if *b < 0x80 => (char::from(*b).to_string(), i + 1),
        Item::Punct(b) => (char::from(*b).to_string(), i + 1),
        Item::Lost | Item::Swallowed(_) => ("?".to_string(), i + 1),
        Item::Byte(lead) => {
            let byte_at = |j: usize| match items.get(j) {
                Some(Item::Byte(b)) => Some(*b),
                _ => None,
            };
            match items.get(i + 1) {
                Some(Item::Lost) => ("?".to_string(), i + 2),
                Some(Item::Byte(t)) if (0x30..=0x39).contains(t) => {
                    let four: Option<Vec<u8>> = (i..i + 4).map(byte_at).collect();
                    match four.as_deref().and_then(decode_char) {
                        Some(c) => (c.to_string(), i + 4),
                        None => ('\u{FFFD}'.to_string(), i + 1),
                    }
                }
                Some(Item::Byte(t)) if is_trail(*t) => match decode_char(&[*lead, *t]) {
                    // A private-use pair where the text was realigned: the lenient decoder
                    // dropped a private-use pair between this lead byte and this trail byte, so
                    // two characters lost a byte each and neither is known.
                    Some('\u{E000}'..='\u{F8FF}') => ("??".to_string(), i + 2),
                    Some(c) => (c.to_string(), i + 2),
                    None => ('\u{FFFD}'.to_string(), i + 2),
                },
                _ => ('\u{FFFD}'.to_string(), i + 1),
            }
        }
    }
}

/// Whether the bytes after the lost byte at `items[lost]` read better one byte later; if so,
/// how to shift them.
fn realign(items: &[Item], lost: usize) -> Option<Shift> {
    // The shifted reading of `items[lost + 1..end]`: one byte later, a punctuation mark read as
    // its full-width form first (its first byte was the lost character's trail).
    let shifted_until = |end: usize| -> Option<Vec<Item>> {
        match items.get(lost + 1)? {
            Item::Punct(a) => Some(
                std::iter::once(Item::Byte(full_width_bytes(*a)[1]))
                    .chain(items[lost + 2..end].iter().cloned())
                    .collect(),
            ),
            Item::Byte(b) if *b >= 0x81 || (0x40..=0x7E).contains(b) => {
                Some(items[lost + 2..end].to_vec())
            }
            _ => None,
        }
    };
    // The comparison needs a few dozen characters, not the rest of the line.
    let window_end = (lost + 2 + REALIGN_WINDOW).min(items.len());
    let shifted = shifted_until(window_end)?;
    let unshifted = &items[lost + 1..window_end];
    // Both readings consume the same bytes from `lost + 2` on; compare them up to the first
    // byte where both are at a character boundary again.
    let shifted_offset = lost + 2 - usize::from(matches!(items[lost + 1], Item::Punct(_)));
    let boundaries = |tail: &[Item], offset: usize| -> Vec<(usize, char)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < tail.len() && out.len() < 32 {
            if tail[i] == Item::Lost {
                break;
            }
            let (unit, next) = step(tail, i);
            for c in unit.chars() {
                out.push((offset + next, c));
            }
            i = next;
        }
        out
    };
    let a = boundaries(unshifted, lost + 1);
    let b = boundaries(&shifted, shifted_offset);
    let ends_b: HashSet<usize> = b.iter().map(|x| x.0).collect();
    let meet = a
        .iter()
        .map(|x| x.0)
        .find(|p| *p >= lost + 2 && ends_b.contains(p))?;
    let window = |v: &[(usize, char)]| -> Vec<char> {
        v.iter().take_while(|x| x.0 <= meet).map(|x| x.1).collect()
    };
    let (before, after) = (window(&a), window(&b));
    let gain = lexicon::plausibility(&after) - lexicon::plausibility(&before);
    if gain < 4 || after.contains(&'\u{FFFD}') {
        return None;
    }
    Some(match items[lost + 1] {
        Item::Punct(a) => Shift::Trail(full_width_bytes(a)[1]),
        _ => Shift::Skip,
    })
}

/// Bytes compared when deciding a re-alignment (the comparison stops at 32 characters).
const REALIGN_WINDOW: usize = 160;

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(line: &str, context: &str) -> (String, RepairLog) {
        let learned = AnnotatedChars::learn(context);
        let mut log = RepairLog::default();
        let out = repair_line(line, &learned, &mut log).unwrap_or_else(|| line.to_string());
        (out, log)
    }

    #[test]
    fn straddled_annotations_are_reversed() {
        let cases = [
            ("堅(jiān)持?jǐn)U大開放", "堅持擴大開放"),
            ("與天津?yàn)I海新區(qū)", "與天津濱海新區"),
            ("轉(zhuǎn)變?cè)鲩L(zhǎng)方式", "轉變增長方式"),
            ("勞動(dòng)?jì)D女節(jié)", "勞動婦女節"),
            ("與當(dāng)?shù)芈?lián)合", "與當地聯合"),
            ("幫助當(dāng)?shù)貎?yōu)化", "幫助當地優化"),
        ];
        for (damaged, repaired) in cases {
            let (out, log) = fix(damaged, "優(yōu)化 計(jì)劃 驗(yàn)收 數(shù)量");
            assert_eq!(out, repaired, "{damaged}");
            assert!(log.count(RepairKind::GbkStraddleReversed) >= 1);
        }
    }

    #[test]
    fn a_lost_trail_byte_stays_a_question_mark() {
        let (out, _) = fix("堅持實(shí)事?lián)碥?、文化擁軍", "");
        assert_eq!(out, "堅持實事擁?、文化擁軍");
    }

    #[test]
    fn text_after_a_lost_lead_byte_is_realigned() {
        let (out, log) = fix("基層黨建工作?;鶎狱h政組織", "");
        assert_eq!(out, "基層黨建工作?基層黨政組織");
        assert_eq!(log.count(RepairKind::GbkRealigned), 1);
    }

    #[test]
    fn a_dropped_private_use_pair_is_inferred_from_context() {
        let (out, log) = fix("與當(dāng)?shù)靥厣?jīng)濟", "經(jīng)濟 經(jīng)營");
        assert_eq!(out, "與當地特色經濟");
        assert_eq!(log.count(RepairKind::GbkDroppedPairInferred), 1);
        assert!(
            log.warnings[0].message.ends_with("特[色]經"),
            "{}",
            log.warnings[0].message
        );
    }

    #[test]
    fn a_pair_dropped_inside_realigned_text_leaves_two_question_marks() {
        // 償的，產品 with 數 straddling 償|的: the out-of-step pair [AC AE] was private use and
        // dropped, taking the trail of ， and the lead of 產 with it.
        let (out, _) = fix("賠償?shù)模a(chǎn)品", "產(chǎn)");
        assert_eq!(out, "賠償的??品");
    }

    #[test]
    fn ordinary_question_marks_are_left_alone() {
        for line in [
            "浦府辦?2010?98號",
            "現將?西鄉街道部門協作辦法(試行)?印發給你們",
            "What is this? A question.",
            "是否需要?",
        ] {
            let (out, log) = fix(line, "");
            assert_eq!(out, line);
            assert_eq!(log.total(), 0, "{line}");
        }
    }
}
