//! Bytes → text, in two steps: a [`Plan`] (which encoding, and why) decided from the bytes
//! without decoding them all at once, then [`Plan::lines`], which decodes the file a line at a
//! time, so a file of any size is read with a few buffers of memory, and every line knows the
//! source bytes it came from.
//!
//! The order of evidence: a byte-order mark; bytes that are valid UTF-8 (or UTF-8 but for a
//! few malformed sequences); a charset the file declares (HTML `<meta>`, XML declaration) when
//! the bytes agree with it; an encoding named in the file name (`通知_big5.txt`, `gbk/…`) when
//! the bytes mostly agree; UTF-16 without a BOM and HZ, recognised by their structure; lines
//! that are partly UTF-8 and partly GB18030 or Big5; then chardetng's guess, checked against
//! GB18030 and Big5 by how plausible the decoded text is as Chinese.
//!
//! GBK and GB2312 are decoded as GB18030 (a superset), and the encoding reported is the
//! smallest of the three that the bytes fit. Every replacement character the decoder had to
//! produce is counted.

use std::borrow::Cow;
use std::ops::Range;

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{BIG5, Decoder, DecoderResult, Encoding, GB18030, UTF_8, UTF_16BE, UTF_16LE};

use crate::lang::lexicon;
use crate::model::EncodingSource;

/// How many leading bytes the detectors look at: enough to guess, cheap to scan.
const SNIFF_BYTES: usize = 64 * 1024;
/// Source bytes decoded at once, at most: a line longer than this (a file without line
/// breaks) is decoded in pieces.
pub const MAX_PIECE_BYTES: usize = 256 * 1024;

/// How a file is to be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The encoding's name as researchers know it: `UTF-8`, `GBK`, `Big5`, `UTF-16LE` …
    pub encoding: String,
    pub source: EncodingSource,
    /// Length of the byte-order mark, if any: the text starts after it.
    pub bom_len: usize,
    pub codec: Codec,
    /// A charset the file declared but which its bytes contradict.
    pub ignored_declaration: Option<String>,
}

/// The decoder a plan uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Whatwg(&'static Encoding),
    Hz,
    /// Each line UTF-8 if it is (but for a few bytes), else this legacy encoding.
    Mixed(&'static Encoding),
}

/// Why bytes could not be decoded as text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Zero bytes, or only whitespace.
    #[error("the file is empty")]
    Empty,
    /// A known binary format or bytes that are not text in any supported encoding.
    #[error("not a text document: {0}")]
    Binary(String),
}

/// A whole file decoded at once: for files known to be small, and for tests.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub text: String,
    pub plan: Plan,
    /// Replacement characters the decoder produced for malformed bytes.
    pub replacements: usize,
}

/// Decodes `bytes`, the content of the file called `file_name`, at once.
pub fn decode(bytes: &[u8], file_name: &str) -> Result<Decoded, DecodeError> {
    let plan = plan(bytes, file_name)?;
    let mut text = String::new();
    let mut replacements = 0;
    for line in plan.lines(bytes) {
        text.push_str(&line.text);
        replacements += line.replacements;
    }
    Ok(Decoded {
        text,
        plan,
        replacements,
    })
}

/// Decides how to decode `bytes`, the content of the file called `file_name`.
pub fn plan(bytes: &[u8], file_name: &str) -> Result<Plan, DecodeError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(DecodeError::Empty);
    }
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        return Ok(whatwg(
            encoding,
            &bytes[bom_len..],
            EncodingSource::Bom,
            bom_len,
        ));
    }
    if let Some(format) = binary_format(bytes) {
        return Err(DecodeError::Binary(format.to_string()));
    }
    let valid_utf8 = std::str::from_utf8(bytes).is_ok();
    if let Some(encoding) = utf16_without_bom(bytes, valid_utf8) {
        return Ok(whatwg(encoding, bytes, EncodingSource::Guessed, 0));
    }
    if has_nul_or_controls(bytes) {
        return Err(DecodeError::Binary(
            "control bytes that no text encoding produces".to_string(),
        ));
    }
    if valid_utf8 {
        if is_hz(bytes) {
            return Ok(Plan {
                encoding: "HZ-GB-2312".to_string(),
                source: EncodingSource::Guessed,
                bom_len: 0,
                codec: Codec::Hz,
                ignored_declaration: None,
            });
        }
        return Ok(whatwg(UTF_8, bytes, EncodingSource::Valid, 0));
    }
    if is_utf8_but_for_a_few_bytes(bytes) {
        return Ok(whatwg(UTF_8, bytes, EncodingSource::Guessed, 0));
    }
    let declared = declared_charset(bytes);
    if let Some(encoding) = declared
        && encoding != UTF_8
        && decodes_cleanly(encoding, bytes)
    {
        return Ok(whatwg(encoding, bytes, EncodingSource::Declared, 0));
    }
    if let Some(encoding) = named_in_file_name(file_name)
        && mostly_decodes(encoding, bytes)
    {
        return Ok(whatwg(encoding, bytes, EncodingSource::Declared, 0));
    }
    if let Some(mixed) = mixed_lines(bytes) {
        return Ok(mixed);
    }
    // Chinese UTF-8 lines beside lines that fit no Chinese encoding: junk in a UTF-8 file.
    // Any single-byte encoding would decode it all "cleanly", and all of it wrong.
    if clearly_utf8_lines(bytes) >= 2 {
        return Ok(whatwg(UTF_8, bytes, EncodingSource::Guessed, 0));
    }
    let mut plan = whatwg(guess(bytes), bytes, EncodingSource::Guessed, 0);
    plan.ignored_declaration = declared.map(|e| e.name().to_string());
    Ok(plan)
}

fn whatwg(
    encoding: &'static Encoding,
    bytes: &[u8],
    source: EncodingSource,
    bom_len: usize,
) -> Plan {
    Plan {
        encoding: encoding_name(encoding, bytes),
        source,
        bom_len,
        codec: Codec::Whatwg(encoding),
        ignored_declaration: None,
    }
}

/// One decoded line (with its line break), or a piece of a very long one.
#[derive(Debug, Clone)]
pub struct Line<'a> {
    pub text: Cow<'a, str>,
    /// The source bytes it was decoded from.
    pub bytes: Range<usize>,
    /// Replacement characters the decoder produced in it.
    pub replacements: usize,
}

impl Plan {
    /// The lines of `bytes`, decoded one after another.
    pub fn lines<'a>(&self, bytes: &'a [u8]) -> Lines<'a> {
        let decoder = match self.codec {
            Codec::Whatwg(e) if e != UTF_8 => Some(e.new_decoder_without_bom_handling()),
            _ => None,
        };
        Lines {
            bytes,
            at: self.bom_len,
            codec: self.codec,
            line: None,
            decoder,
            hz: HzDecoder::default(),
        }
    }

    /// Source bytes of one line break.
    pub fn newline_bytes(&self) -> usize {
        match self.codec {
            Codec::Whatwg(e) if e == UTF_16LE || e == UTF_16BE => 2,
            _ => 1,
        }
    }
}

/// The iterator of [`Plan::lines`].
pub struct Lines<'a> {
    bytes: &'a [u8],
    at: usize,
    codec: Codec,
    /// Where the line being read ends, and the encoding of its bytes (in a mixed file, each
    /// line's own).
    line: Option<(usize, &'static Encoding)>,
    /// The decoder of a legacy encoding: in a file in one encoding it runs on from line to
    /// line; in a mixed file it starts afresh with each legacy line.
    decoder: Option<Decoder>,
    hz: HzDecoder,
}

impl Lines<'_> {
    /// Where the line starting at `self.at` ends, after its line break.
    fn find_line_end(&self, encoding: &'static Encoding) -> usize {
        let rest = &self.bytes[self.at..];
        let end = if encoding == UTF_16LE || encoding == UTF_16BE {
            let newline: [u8; 2] = if encoding == UTF_16LE {
                [b'\n', 0]
            } else {
                [0, b'\n']
            };
            rest.chunks_exact(2)
                .position(|unit| unit == newline)
                .map_or(rest.len(), |units| 2 * units + 2)
        } else {
            memchr::memchr(b'\n', rest).map_or(rest.len(), |newline| newline + 1)
        };
        self.at + end
    }

    /// Starts the line at `self.at`: its end and encoding.
    fn start_line(&mut self) -> (usize, &'static Encoding) {
        let encoding = match self.codec {
            Codec::Whatwg(e) => e,
            Codec::Hz => UTF_8,
            Codec::Mixed(legacy) => {
                let end = self.find_line_end(UTF_8);
                if is_utf8_line(&self.bytes[self.at..end]) {
                    UTF_8
                } else {
                    self.decoder = Some(legacy.new_decoder_without_bom_handling());
                    legacy
                }
            }
        };
        (self.find_line_end(encoding), encoding)
    }
}

/// Where a piece of `bytes` (a line's rest, starting at a character) may end, at most `limit`
/// bytes in: at a character boundary, so that each piece's source bytes are exact.
fn piece_end(bytes: &[u8], limit: usize, encoding: &'static Encoding) -> usize {
    if bytes.len() <= limit {
        return bytes.len();
    }
    let cut = if encoding == UTF_8 {
        (1..=4)
            .map(|back| limit - back)
            .find(|&i| bytes[i] & 0xC0 != 0x80)
            .unwrap_or(limit)
    } else if encoding == UTF_16LE || encoding == UTF_16BE {
        let unit = |i: usize| {
            let pair = [bytes[i], bytes[i + 1]];
            if encoding == UTF_16LE {
                u16::from_le_bytes(pair)
            } else {
                u16::from_be_bytes(pair)
            }
        };
        let even = limit & !1;
        // Never between the two halves of a surrogate pair.
        if (0xD800..0xDC00).contains(&unit(even - 2)) {
            even - 2
        } else {
            even
        }
    } else if encoding == GB18030 || encoding == encoding_rs::GBK || encoding == BIG5 {
        // Walk the characters: one byte below 0x80, four for a GB18030 four-byte sequence,
        // else two.
        let mut i = 0;
        loop {
            let len = match bytes[i] {
                b if b < 0x80 => 1,
                _ if encoding == GB18030 && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => 4,
                _ => 2,
            };
            if i + len > limit {
                break i;
            }
            i += len;
        }
    } else {
        // Other encodings' decoders carry a cut character over to the next piece.
        limit
    };
    cut.max(1)
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        if self.at >= self.bytes.len() {
            return None;
        }
        let (line_end, encoding) = match self.line {
            Some(line) => line,
            None => {
                let line = self.start_line();
                self.line = Some(line);
                line
            }
        };
        let (at, bytes) = (self.at, self.bytes);
        let end = at + piece_end(&bytes[at..line_end], MAX_PIECE_BYTES, encoding);
        let raw = &bytes[at..end];
        let text: Cow<'a, str> = match (self.codec, &mut self.decoder) {
            (Codec::Hz, _) => Cow::Owned(self.hz.decode(raw)),
            (_, Some(decoder)) if encoding != UTF_8 => {
                let mut out = String::new();
                out.reserve(
                    decoder
                        .max_utf8_buffer_length(raw.len())
                        .unwrap_or(raw.len() * 3),
                );
                let last =
                    end == bytes.len() || matches!(self.codec, Codec::Mixed(_)) && end == line_end;
                let _ = decoder.decode_to_string(raw, &mut out, last);
                Cow::Owned(out)
            }
            // Validating is cheap; replacing is only for the few lines that need it.
            _ => match std::str::from_utf8(raw) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(raw),
            },
        };
        if end == line_end {
            self.line = None;
        }
        let found = text.matches('\u{FFFD}').count();
        let literal = if found == 0 {
            0
        } else {
            literal_replacements(encoding, raw)
        };
        self.at = end;
        Some(Line {
            text,
            bytes: at..end,
            replacements: found.saturating_sub(literal),
        })
    }
}

/// U+FFFD characters that the file itself contains, encoded: they are text, not decode errors.
fn literal_replacements(encoding: &'static Encoding, bytes: &[u8]) -> usize {
    let (pattern, step): (&[u8], usize) = match encoding {
        e if e == UTF_8 => (&[0xEF, 0xBF, 0xBD], 1),
        e if e == UTF_16LE => (&[0xFD, 0xFF], 2),
        e if e == UTF_16BE => (&[0xFF, 0xFD], 2),
        e if e == GB18030 => (&[0x84, 0x31, 0xA4, 0x37], 1),
        _ => return 0,
    };
    bytes
        .windows(pattern.len())
        .step_by(step)
        .filter(|w| *w == pattern)
        .count()
}

/// A Chinese encoding named by a word of the file name or its folder (`通知_big5.txt`).
fn named_in_file_name(file_name: &str) -> Option<&'static Encoding> {
    const LABELS: &[&str] = &[
        "gbk",
        "gb2312",
        "gb18030",
        "big5",
        "big5-hkscs",
        "cp936",
        "cp950",
    ];
    let lower = file_name.to_ascii_lowercase();
    let mut words = lower.split(|c: char| !c.is_ascii_alphanumeric() && c != '-');
    let label = words.rfind(|w| LABELS.contains(w))?;
    Encoding::for_label(label.as_bytes()).map(|e| if e == encoding_rs::GBK { GB18030 } else { e })
}

/// At most two malformed sequences per hundred bytes.
fn mostly_decodes(encoding: &'static Encoding, bytes: &[u8]) -> bool {
    let limit = bytes.len().max(1) * 2 / 100;
    malformed_sequences(encoding, bytes, limit + 1) <= limit
}

/// Multi-byte characters and bytes, and malformed bytes, of `bytes` read as UTF-8.
fn utf8_counts(bytes: &[u8]) -> (usize, usize, usize) {
    let (mut multibyte_chars, mut multibyte_bytes, mut invalid) = (0usize, 0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars().filter(|c| !c.is_ascii()) {
            multibyte_chars += 1;
            multibyte_bytes += c.len_utf8();
        }
        invalid += chunk.invalid().len();
    }
    (multibyte_chars, multibyte_bytes, invalid)
}

/// Whether `bytes` are UTF-8 but for a few malformed sequences (a byte flipped or cut by a
/// transfer): then they are decoded as UTF-8, each malformed sequence replaced and counted.
/// Reading them in another encoding would turn every character into mojibake to save a few.
/// Text in a legacy double-byte encoding is valid UTF-8 only by rare accident, and never for
/// most of its characters.
fn is_mostly_utf8(bytes: &[u8]) -> bool {
    let (multibyte_chars, multibyte_bytes, invalid) = utf8_counts(bytes);
    multibyte_chars >= 3 && invalid > 0 && invalid * 20 <= multibyte_bytes
}

/// A line with more bytes that are not UTF-8 than damage leaves: a line in another encoding.
fn is_legacy_line(line: &[u8]) -> bool {
    let (_, multibyte_bytes, invalid) = utf8_counts(line);
    invalid > 2 && invalid * 20 > multibyte_bytes
}

/// The whole file is UTF-8 with a few damaged bytes, and no line of it is in another
/// encoding (those are for [`mixed_lines`]).
fn is_utf8_but_for_a_few_bytes(bytes: &[u8]) -> bool {
    is_mostly_utf8(bytes) && !bytes.split(|&b| b == b'\n').any(is_legacy_line)
}

/// Lines that are Chinese UTF-8 beyond chance: valid with three or more multi-byte
/// characters, or UTF-8 but for a few bytes. Counted up to two.
fn clearly_utf8_lines(bytes: &[u8]) -> usize {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .filter(|line| {
            std::str::from_utf8(line)
                .is_ok_and(|s| s.chars().filter(|c| !c.is_ascii()).count() >= 3)
                || is_mostly_utf8(line)
        })
        .take(2)
        .count()
}

/// A file whose lines are partly UTF-8 and partly a Chinese legacy encoding (two files
/// concatenated, or a UTF-8 editor appending to a GBK file): each line is decoded on its own,
/// so neither half turns into mojibake. A line that is UTF-8 but for a few bytes is UTF-8;
/// the legacy encoding is GB18030 or Big5, never a single-byte encoding, which would decode
/// anything "cleanly".
fn mixed_lines(bytes: &[u8]) -> Option<Plan> {
    if clearly_utf8_lines(bytes) < 2 {
        return None;
    }
    let legacy_lines = || {
        bytes
            .split_inclusive(|&b| b == b'\n')
            .filter(|line| !is_utf8_line(line))
    };
    let mut sample: Vec<u8> = Vec::new();
    let (mut gb18030, mut gbk, mut hkscs) = (false, false, false);
    let (mut legacy_bytes, mut malformed) = (0usize, [0usize; 2]);
    let candidates = [GB18030, BIG5];
    for line in legacy_lines() {
        let room = SNIFF_BYTES.saturating_sub(sample.len());
        sample.extend_from_slice(&line[..line.len().min(room)]);
        legacy_bytes += line.len();
        for (i, &e) in candidates.iter().enumerate() {
            malformed[i] += malformed_sequences(e, line, usize::MAX);
        }
        match gb_family_name(line) {
            "GB18030" => gb18030 = true,
            "GBK" => gbk = true,
            _ => {}
        }
        hkscs |= big5_name(line) == "Big5-HKSCS";
    }
    let encoding = candidates
        .into_iter()
        .enumerate()
        .filter(|&(i, _)| malformed[i] * 100 <= legacy_bytes.max(1) * 2)
        .max_by_key(|&(_, e)| plausibility_of(e, &sample))
        .map(|(_, e)| e)?;
    // The widest standard any line needs.
    let name = match encoding {
        e if e == BIG5 && hkscs => "Big5-HKSCS",
        e if e == BIG5 => "Big5",
        _ if gb18030 => "GB18030",
        _ if gbk => "GBK",
        _ => "GB2312",
    };
    Some(Plan {
        encoding: format!("UTF-8+{name}"),
        source: EncodingSource::Guessed,
        bom_len: 0,
        codec: Codec::Mixed(encoding),
        ignored_declaration: None,
    })
}

/// A line a mixed file decodes as UTF-8: valid, or UTF-8 but for a few bytes.
fn is_utf8_line(line: &[u8]) -> bool {
    std::str::from_utf8(line).is_ok() || !is_legacy_line(line)
}

/// Magic numbers of formats people put beside text documents.
fn binary_format(bytes: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"%PDF", "a PDF file (extract its text first)"),
        (b"PK\x03\x04", "a ZIP archive or an Office document"),
        (b"\xD0\xCF\x11\xE0", "an old Office document (.doc/.xls)"),
        (b"\x89PNG", "a PNG image"),
        (b"\xFF\xD8\xFF", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"\x1F\x8B", "a gzip archive"),
        (b"Rar!", "a RAR archive"),
        (b"7z\xBC\xAF", "a 7-Zip archive"),
        (b"\x7FELF", "an executable"),
        (b"{\\rtf", "an RTF document"),
    ];
    MAGIC
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
        .map(|(_, what)| *what)
}

/// Many NUL or C0 control bytes: no 8-bit text encoding produces them.
fn has_nul_or_controls(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(SNIFF_BYTES)];
    let controls = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, 0 | b'\n' | b'\r' | b'\t' | 0x0C | 0x1B))
        .count();
    // A stray NUL in text is removed (and counted) by the repair; many are binary.
    let nuls = sample.iter().filter(|&&b| b == 0).count();
    nuls > (sample.len() / 100).max(8) || controls * 100 > sample.len()
}

/// UTF-16 without a BOM: one byte of most code units is zero (ASCII), or the code units are
/// mostly CJK and the text is far more plausible than as GB18030.
fn utf16_without_bom(bytes: &[u8], valid_utf8: bool) -> Option<&'static Encoding> {
    if bytes.len() < 4 || !bytes.len().is_multiple_of(2) {
        return None;
    }
    let sample = &bytes[..bytes.len().min(SNIFF_BYTES) & !1];
    let units = sample.len() / 2;
    let zero_even = sample.iter().step_by(2).filter(|&&b| b == 0).count();
    let zero_odd = sample
        .iter()
        .skip(1)
        .step_by(2)
        .filter(|&&b| b == 0)
        .count();
    let candidate = if zero_odd * 5 >= units && zero_even * 50 < units {
        Some(UTF_16LE)
    } else if zero_even * 5 >= units && zero_odd * 50 < units {
        Some(UTF_16BE)
    } else {
        None
    };
    if let Some(encoding) = candidate {
        return decodes_cleanly(encoding, sample).then_some(encoding);
    }
    if valid_utf8 {
        return None;
    }
    let as_gb = plausibility_of(GB18030, sample);
    [UTF_16LE, UTF_16BE].into_iter().find(|&encoding| {
        decodes_cleanly(encoding, sample) && share(encoding, sample, is_cjk, |_| true) > 0.8 && {
            plausibility_of(encoding, sample) > as_gb + (units as i32 / 2)
        }
    })
}

/// The share of the decoded characters that are `counted`, among those that are `among`.
fn share(
    encoding: &'static Encoding,
    bytes: &[u8],
    counted: fn(char) -> bool,
    among: fn(char) -> bool,
) -> f64 {
    let (text, _) = encoding.decode_without_bom_handling(bytes);
    let total = text.chars().filter(|&c| among(c)).count().max(1);
    text.chars().filter(|&c| counted(c)).count() as f64 / total as f64
}

fn is_cjk(c: char) -> bool {
    crate::lang::fold::is_han(c) || crate::lang::fold::is_cjk_punct(c)
}

fn plausibility_of(encoding: &'static Encoding, bytes: &[u8]) -> i32 {
    let (text, _) = encoding.decode_without_bom_handling(bytes);
    let chars: Vec<char> = text.chars().collect();
    lexicon::plausibility(&chars)
}

fn decodes_cleanly(encoding: &'static Encoding, bytes: &[u8]) -> bool {
    malformed_sequences(encoding, bytes, 1) == 0
}

/// Malformed sequences `encoding` meets in `bytes`, counted up to `stop_at`, decoding through
/// a small buffer (never the whole text at once).
fn malformed_sequences(encoding: &'static Encoding, bytes: &[u8], stop_at: usize) -> usize {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut out = [0u8; 8192];
    let mut rest = bytes;
    let mut found = 0;
    loop {
        let (result, read, _) = decoder.decode_to_utf8_without_replacement(rest, &mut out, true);
        rest = &rest[read..];
        match result {
            DecoderResult::InputEmpty => return found,
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(..) => {
                found += 1;
                if found >= stop_at {
                    return found;
                }
            }
        }
    }
}

/// A charset named by an XML declaration or an HTML `<meta>` in the first kilobytes.
fn declared_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(4096)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    for key in [&b"charset="[..], &b"encoding="[..]] {
        let mut from = 0;
        while let Some(pos) = find(&lower[from..], key) {
            let start = from + pos + key.len();
            let value: Vec<u8> = lower[start..]
                .iter()
                .copied()
                .skip_while(|b| matches!(b, b'"' | b'\'' | b' '))
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
                .collect();
            if let Some(encoding) = Encoding::for_label(&value) {
                return Some(match encoding {
                    e if e == encoding_rs::GBK => GB18030,
                    e => e,
                });
            }
            from = start;
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// chardetng's guess, weighed against GB18030 and Big5: this archive holds Chinese, and short
/// or unusual Chinese texts (tables of characters, lists of names) can fool a detector trained
/// on prose. Between GB18030 and Big5 the more plausible Chinese wins; a non-CJK guess stands
/// only if neither decodes the bytes cleanly into mostly Han text.
fn guess(bytes: &[u8]) -> &'static Encoding {
    let sample = sniff_sample(bytes);
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
    detector.feed(sample, sample.len() == bytes.len());
    let guessed = match detector.guess(None, Utf8Detection::Allow) {
        e if e == encoding_rs::GBK => GB18030,
        e => e,
    };
    let errors = |e: &'static Encoding| {
        let (text, _) = e.decode_without_bom_handling(sample);
        text.matches('\u{FFFD}').count() as i64
    };
    let score = |e: &'static Encoding| i64::from(plausibility_of(e, sample)) - 6 * errors(e);
    let chinese = [GB18030, BIG5];
    if chinese.contains(&guessed) {
        // The other one only when it reads clearly better, errors counted against each.
        let other = if guessed == GB18030 { BIG5 } else { GB18030 };
        let margin = (sample.len() as i64 / 8).max(8);
        return if score(other) > score(guessed) + margin {
            other
        } else {
            guessed
        };
    }
    let fitting = chinese
        .into_iter()
        .filter(|&e| {
            errors(e) <= (sample.len() as i64 / 100).max(1)
                && share(e, sample, crate::lang::fold::is_han, |c| !c.is_ascii()) >= 0.5
                && plausibility_of(e, sample) > 0
        })
        .max_by_key(|&e| score(e));
    match fitting {
        Some(e) if !is_other_cjk(guessed) => e,
        _ => guessed,
    }
}

/// The first bytes of a file, cut at a line end so no character is cut in half.
fn sniff_sample(bytes: &[u8]) -> &[u8] {
    if bytes.len() <= SNIFF_BYTES {
        return bytes;
    }
    let head = &bytes[..SNIFF_BYTES];
    match memchr::memrchr(b'\n', head) {
        Some(end) if end > 0 => &head[..=end],
        _ => head,
    }
}

/// Japanese and Korean encodings, whose guesses chardetng makes from strong evidence.
fn is_other_cjk(encoding: &'static Encoding) -> bool {
    [
        encoding_rs::SHIFT_JIS,
        encoding_rs::EUC_JP,
        encoding_rs::EUC_KR,
        encoding_rs::ISO_2022_JP,
    ]
    .contains(&encoding)
}

/// The name to report: for the GB family the smallest standard the bytes fit, for Big5 whether
/// HKSCS extensions occur.
fn encoding_name(encoding: &'static Encoding, bytes: &[u8]) -> String {
    if encoding == GB18030 || encoding == encoding_rs::GBK {
        return gb_family_name(bytes).to_string();
    }
    if encoding == BIG5 {
        return big5_name(bytes).to_string();
    }
    encoding.name().to_string()
}

fn gb_family_name(bytes: &[u8]) -> &'static str {
    let mut name = "GB2312";
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(0x30..=0x39) => return "GB18030",
            Some(&t) if (0xA1..=0xF7).contains(&b) && t >= 0xA1 => i += 2,
            Some(_) => {
                name = "GBK";
                i += 2;
            }
            None => i += 1,
        }
    }
    name
}

fn big5_name(bytes: &[u8]) -> &'static str {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            i += 1;
            continue;
        }
        if !(0xA1..=0xF9).contains(&b) {
            return "Big5-HKSCS";
        }
        i += 2;
    }
    "Big5"
}

/// Whether `bytes` are HZ-GB-2312 (RFC 1843): 7-bit text where `~{` … `~}` encloses GB 2312
/// bytes with the high bit cleared, every escape and pair valid.
fn is_hz(bytes: &[u8]) -> bool {
    if !bytes.is_ascii() || find(bytes, b"~{").is_none() {
        return false;
    }
    let mut decoder = HzDecoder::default();
    let mut sink = String::new();
    let mut pairs = 0;
    for chunk in bytes.chunks(MAX_PIECE_BYTES) {
        sink.clear();
        let (errors, found) = decoder.feed(chunk, &mut sink);
        if errors > 0 {
            return false;
        }
        pairs += found;
    }
    pairs > 0 && decoder.pending.is_none()
}

/// An HZ decoder that can be fed a file piece by piece: the GB mode and a byte cut off at the
/// end of a piece carry over.
#[derive(Debug, Default)]
struct HzDecoder {
    gb: bool,
    pending: Option<u8>,
}

impl HzDecoder {
    /// Decodes a piece, a malformed escape or pair as U+FFFD.
    fn decode(&mut self, piece: &[u8]) -> String {
        let mut out = String::with_capacity(piece.len());
        self.feed(piece, &mut out);
        out
    }

    /// Decodes `piece` into `out`; the malformed escapes and pairs, and the pairs decoded.
    fn feed(&mut self, piece: &[u8], out: &mut String) -> (usize, usize) {
        let (mut errors, mut pairs) = (0, 0);
        for &b in piece {
            let Some(first) = self.pending.take() else {
                if b == b'~' || self.gb {
                    self.pending = Some(b);
                } else {
                    out.push(char::from(b));
                }
                continue;
            };
            if first == b'~' {
                match b {
                    b'{' if !self.gb => self.gb = true,
                    b'}' if self.gb => self.gb = false,
                    b'~' if !self.gb => out.push('~'),
                    b'\n' if !self.gb => {}
                    _ => {
                        errors += 1;
                        out.push('\u{FFFD}');
                    }
                }
                continue;
            }
            let pair = [first | 0x80, b | 0x80];
            let decoded = ((0x21..=0x7E).contains(&first) && (0x21..=0x7E).contains(&b))
                .then(|| GB18030.decode_without_bom_handling_and_without_replacement(&pair))
                .flatten();
            match decoded {
                Some(c) => {
                    out.push_str(&c);
                    pairs += 1;
                }
                None => {
                    errors += 1;
                    out.push('\u{FFFD}');
                }
            }
        }
        (errors, pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "关于做好2011年元旦、春节期间拥军优属拥政爱民工作的通知";

    #[test]
    fn boms_win() {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(TEXT.encode_utf16().flat_map(u16::to_le_bytes));
        let d = decode(&bytes, "x.txt").unwrap();
        assert_eq!(d.text, TEXT);
        assert_eq!(d.plan.encoding, "UTF-16LE");
        assert_eq!(d.plan.source, EncodingSource::Bom);
        assert_eq!(d.plan.bom_len, 2);
    }

    #[test]
    fn utf16_without_bom_is_recognised() {
        let le: Vec<u8> = TEXT.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = TEXT.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(decode(&le, "x.txt").unwrap().text, TEXT);
        assert_eq!(decode(&le, "x.txt").unwrap().plan.encoding, "UTF-16LE");
        assert_eq!(decode(&be, "x.txt").unwrap().plan.encoding, "UTF-16BE");
        let ascii_le: Vec<u8> = "Notice 2010, page 3\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(
            decode(&ascii_le, "x.txt").unwrap().plan.encoding,
            "UTF-16LE"
        );
    }

    #[test]
    fn gbk_and_big5_are_told_apart() {
        let (gbk, _, _) = encoding_rs::GBK.encode(TEXT);
        let d = decode(&gbk, "x.txt").unwrap();
        assert_eq!(
            (d.text.as_str(), d.plan.encoding.as_str()),
            (TEXT, "GB2312")
        );
        let traditional = "關於做好元旦、春節期間擁軍優屬擁政愛民工作的通知";
        let (big5, _, _) = BIG5.encode(traditional);
        let d = decode(&big5, "x.txt").unwrap();
        assert_eq!(
            (d.text.as_str(), d.plan.encoding.as_str()),
            (traditional, "Big5")
        );
        let (gbk_trad, _, _) = encoding_rs::GBK.encode(traditional);
        let d = decode(&gbk_trad, "x.txt").unwrap();
        assert_eq!(
            (d.text.as_str(), d.plan.encoding.as_str()),
            (traditional, "GBK")
        );
    }

    #[test]
    fn declared_charset_is_used_when_the_bytes_agree() {
        let (gbk, _, _) = encoding_rs::GBK.encode(TEXT);
        let mut html = b"<html><head><meta charset=\"gb2312\"></head><body>".to_vec();
        html.extend_from_slice(&gbk);
        let d = decode(&html, "x.txt").unwrap();
        assert_eq!(d.plan.source, EncodingSource::Declared);
        assert!(d.text.contains(TEXT));
    }

    #[test]
    fn an_encoding_in_the_file_name_counts_as_declared() {
        let traditional = "關於做好元旦春節期間工作的通知";
        let big5 = BIG5.encode(traditional).0.into_owned();
        let d = decode(&big5, "notices/2008_big5.txt").unwrap();
        assert_eq!(
            (d.text.as_str(), d.plan.source),
            (traditional, EncodingSource::Declared)
        );
        assert_eq!(named_in_file_name("a/gbk/b.txt"), Some(GB18030));
        assert_eq!(named_in_file_name("big5hkscs-notes.txt"), None);
        assert_eq!(named_in_file_name("report.txt"), None);
    }

    #[test]
    fn hz_decodes() {
        let d = decode(
            b"The next sentence is in GB.~{<:Ky2;S{#,NpJ)l6HK!#~}Bye.\n",
            "hz.txt",
        )
        .unwrap();
        assert_eq!(d.plan.encoding, "HZ-GB-2312");
        assert!(d.text.contains("己所不欲，勿施於人。"), "{}", d.text);
    }

    #[test]
    fn empty_and_binary_are_refused() {
        assert_eq!(decode(b"", "x.txt").unwrap_err(), DecodeError::Empty);
        assert_eq!(decode(b" \n\t ", "x.txt").unwrap_err(), DecodeError::Empty);
        assert!(matches!(
            decode(b"%PDF-1.4\n%...", "x.txt"),
            Err(DecodeError::Binary(_))
        ));
        assert!(matches!(
            decode(&[0u8, 1, 2, 3, 0, 0, 7, 8, 0], "x.txt"),
            Err(DecodeError::Binary(_))
        ));
    }

    #[test]
    fn a_few_bad_bytes_in_utf8_are_replaced_not_read_as_another_encoding() {
        let line = "第一条 为了规范口岸开放，提高口岸通关效率，根据国家有关法律制定本条例。\n";
        let mut bytes = line.repeat(3).into_bytes();
        // The last byte of the second line's first character lost: one malformed sequence.
        let cut = line.len() + 2;
        bytes.remove(cut);
        let d = decode(&bytes, "x.txt").unwrap();
        assert_eq!(d.plan.encoding, "UTF-8");
        assert_eq!(d.replacements, 1);
        assert_eq!(d.text.matches('\u{FFFD}').count(), 1);
        assert_eq!(d.text.lines().nth(2), line.lines().next());
        // A single line with an invalid byte, too.
        let mut one = "关于做好春节期间拥军优属工作的通知".as_bytes().to_vec();
        one.insert(6, 0xFF);
        let d = decode(&one, "x.txt").unwrap();
        assert_eq!((d.plan.encoding.as_str(), d.replacements), ("UTF-8", 1));
        assert!(d.text.starts_with("关于") && d.text.ends_with("的通知"));
    }

    #[test]
    fn mixed_lines_never_take_a_single_byte_encoding() {
        let utf8 = "第一条 为了规范口岸开放，提高口岸通关效率，制定本条例。\n";
        let gbk = encoding_rs::GBK
            .encode("第二条 本条例所称的口岸，是指供人员出入境的港口。\n")
            .0;
        let mut bytes = utf8.repeat(2).into_bytes();
        bytes.extend_from_slice(&gbk);
        let d = decode(&bytes, "x.txt").unwrap();
        assert!(
            d.plan.encoding.starts_with("UTF-8+GB"),
            "{}",
            d.plan.encoding
        );
        assert!(d.text.contains("第二条 本条例所称的口岸"), "{}", d.text);
        // Latin-1 bytes among Chinese UTF-8 lines are replaced, not turned into accents.
        let mut latin = utf8.repeat(2).into_bytes();
        latin.extend_from_slice(b"caf\xe9 \xe0 la carte\n");
        let d = decode(&latin, "x.txt").unwrap();
        assert!(!d.text.contains('é'), "{}", d.text);
    }

    #[test]
    fn malformed_bytes_are_counted() {
        let mut bytes = encoding_rs::GBK.encode(TEXT).0.into_owned();
        bytes.push(0x81);
        bytes.extend_from_slice(b"\n");
        let d = decode(&bytes, "x.txt").unwrap();
        assert_eq!(d.replacements, 1);
    }
}
