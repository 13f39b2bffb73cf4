//! Turning a listwise LLM's answer ("[3] > [1] > [2]") into a permutation.
//!
//! The parser never fails: whatever the text, the result is a permutation of
//! `0..n`, and a report says what had to be repaired. Rules, in order:
//! 1. Only the text after the last `</think>` counts (reasoning models).
//! 2. Unicode decimal digits of other scripts (fullwidth, Arabic-Indic,
//!    Devanagari, mathematical, ...) read as ASCII digits.
//! 3. Identifiers are, by preference: bracketed numbers `[12]` (1-based);
//!    else bracketed letters `[B]` (A = first); else bare numbers (1-based);
//!    else bare capital letters A..W standing alone.
//! 4. The first occurrence of an identifier wins; repeats and identifiers
//!    outside `1..=n` are dropped (and reported); identifiers never named
//!    are appended in prompt order (a truncated answer keeps what it gave).
//!
//! Every identifier in the report is 0-based, whatever the text wrote:
//! `[1]` and `[A]` are both 0, `[0]` is -1, `[Z]` is 25.

/// The permutation and what was repaired to get it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parsed {
    /// A permutation of `0..n`, best first.
    pub order: Vec<u32>,
    /// How many positions came from the text.
    pub parsed: usize,
    /// Identifiers (0-based) named again after their first occurrence.
    pub duplicates: Vec<u32>,
    /// Identifiers (0-based, like every field: `[9]` is 8, `[0]` is -1,
    /// `[Z]` is 25) outside the window.
    pub out_of_range: Vec<i64>,
    /// Identifiers (0-based) never named, appended in prompt order.
    pub missing: Vec<u32>,
    /// Whether letters (A, B, ...) rather than numbers were read; false
    /// when the text named no identifier at all.
    pub letters: bool,
}

impl Parsed {
    /// True when the text named every identifier exactly once, in range.
    pub fn is_clean(&self) -> bool {
        self.duplicates.is_empty() && self.out_of_range.is_empty() && self.missing.is_empty()
    }
}

/// Zeros of the Unicode decimal-digit blocks other than ASCII; each block is
/// ten consecutive code points.
const DIGIT_ZEROS: &[u32] = &[
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66, 0x0DE6, 0x0E50,
    0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50,
    0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6,
];

/// The ASCII digit a Unicode decimal digit stands for.
fn ascii_digit(c: char) -> Option<char> {
    if c.is_ascii_digit() {
        return Some(c);
    }
    let u = c as u32;
    DIGIT_ZEROS.iter().find(|&&z| (z..z + 10).contains(&u)).map(|&z| char::from(b'0' + (u - z) as u8))
}

/// Identifiers found in the text, 0-based (`[0]` wraps to `u64::MAX`), and
/// whether they were letters.
fn tokens(text: &str) -> (Vec<u64>, bool) {
    let chars: Vec<char> = text.chars().map(|c| ascii_digit(c).unwrap_or(c)).collect();
    let number_at = |i: usize| -> (u64, usize) {
        let mut v: u64 = 0;
        let mut j = i;
        while j < chars.len() && chars[j].is_ascii_digit() {
            // saturate at i64::MAX, so that the 0-based report fits an i64
            v = v.saturating_mul(10).saturating_add(chars[j] as u64 - '0' as u64).min(i64::MAX as u64);
            j += 1;
        }
        (v, j)
    };
    let (mut bracket_nums, mut bracket_letters, mut bare_nums, mut bare_letters) = (vec![], vec![], vec![], vec![]);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '[' {
            // [ 12 ] or [B], spaces allowed inside
            let mut j = i + 1;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            if j < chars.len() && chars[j].is_ascii_digit() {
                let (v, mut k) = number_at(j);
                while k < chars.len() && chars[k] == ' ' {
                    k += 1;
                }
                if k < chars.len() && chars[k] == ']' {
                    bracket_nums.push(v);
                    i = k + 1;
                    continue;
                }
            } else if j + 1 < chars.len() && chars[j].is_ascii_uppercase() && chars[j + 1] == ']' {
                bracket_letters.push((chars[j] as u8 - b'A') as u64);
                i = j + 2;
                continue;
            }
        }
        if c.is_ascii_digit() && (i == 0 || !chars[i - 1].is_alphanumeric()) {
            let (v, j) = number_at(i);
            if j == chars.len() || !chars[j].is_alphabetic() {
                bare_nums.push(v);
            }
            i = j;
            continue;
        }
        if c.is_ascii_uppercase()
            && c <= 'W'
            && (i == 0 || !chars[i - 1].is_alphanumeric())
            && (i + 1 == chars.len() || !chars[i + 1].is_alphanumeric())
        {
            bare_letters.push((c as u8 - b'A') as u64);
        }
        i += 1;
    }
    if !bracket_nums.is_empty() {
        (bracket_nums.into_iter().map(|v| v.wrapping_sub(1)).collect(), false)
    } else if !bracket_letters.is_empty() {
        (bracket_letters, true)
    } else if !bare_nums.is_empty() {
        (bare_nums.into_iter().map(|v| v.wrapping_sub(1)).collect(), false)
    } else {
        let letters = !bare_letters.is_empty();
        (bare_letters, letters)
    }
}

/// Parse an LLM's ranking of `n` prompt items into a permutation of `0..n`.
pub fn parse_permutation(text: &str, n: usize) -> Parsed {
    let answer = match text.rfind("</think>") {
        Some(i) => &text[i + "</think>".len()..],
        None => text,
    };
    let (ids, letters) = tokens(answer);
    let mut out = complete(ids, n);
    out.letters = letters;
    out
}

/// Complete a partial answer (0-based positions, best first) to a
/// permutation of `0..n`: the first occurrence of a position wins, repeats
/// and positions `>= n` are dropped (and reported), and positions never
/// named are appended in prompt order. The one repair rule of rankwise,
/// shared by the text parser and the planners. Out-of-range positions are
/// reported as `i64` (`u64::MAX`, a wrapped `-1`, becomes -1).
pub fn complete(ids: impl IntoIterator<Item = u64>, n: usize) -> Parsed {
    let mut seen = vec![false; n];
    let mut out = Parsed::default();
    for id in ids {
        if id < n as u64 {
            if seen[id as usize] {
                out.duplicates.push(id as u32);
            } else {
                seen[id as usize] = true;
                out.order.push(id as u32);
            }
        } else {
            out.out_of_range.push(id as i64);
        }
    }
    out.parsed = out.order.len();
    for (i, _) in seen.iter().enumerate().filter(|(_, &s)| !s) {
        out.missing.push(i as u32);
        out.order.push(i as u32);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(text: &str, n: usize) -> Vec<u32> {
        parse_permutation(text, n).order
    }

    #[test]
    fn clean_answer() {
        let p = parse_permutation("[3] > [1] > [2]", 3);
        assert_eq!(p.order, vec![2, 0, 1]);
        assert!(p.is_clean());
        assert_eq!(p.parsed, 3);
    }

    #[test]
    fn messy_variants() {
        assert_eq!(order("3 > 1 > 2", 3), vec![2, 0, 1]);
        assert_eq!(order("The ranking is: [2] > [ 3 ] > [1].", 3), vec![1, 2, 0]);
        assert_eq!(order("[B] > [C] > [A]", 3), vec![1, 2, 0]);
        assert_eq!(order("B > C > A", 3), vec![1, 2, 0]);
        assert_eq!(order("［３］ > ［１］ > ［２］", 3), vec![2, 0, 1]); // fullwidth brackets are not '['; digits still read
        assert_eq!(order("[３] > [１] > [２]", 3), vec![2, 0, 1]);
        assert_eq!(order("[٣] > [١]", 3), vec![2, 0, 1]);
        assert_eq!(order("<think>maybe [1] > [2]</think>[2] > [1]", 2), vec![1, 0]);
    }

    #[test]
    fn repairs_are_reported() {
        let p = parse_permutation("[2] > [2] > [9] > [0] > [1]", 4);
        assert_eq!(p.order, vec![1, 0, 2, 3]);
        assert_eq!(p.duplicates, vec![1]);
        assert_eq!(p.out_of_range, vec![8, -1], "0-based, like the other fields");
        assert_eq!(p.missing, vec![2, 3]);
        assert_eq!(p.parsed, 2);
        let p = parse_permutation("[4] > [1] > [", 5); // truncated
        assert_eq!(p.order, vec![3, 0, 1, 2, 4]);
        let p = parse_permutation("", 3);
        assert_eq!(p.order, vec![0, 1, 2]);
        assert_eq!(p.parsed, 0);
        assert_eq!(parse_permutation("[1]", 0).order, Vec::<u32>::new());
    }

    #[test]
    fn one_convention_and_no_letters_without_identifiers() {
        let p = parse_permutation("[Z] > [A]", 2);
        assert_eq!((p.out_of_range.clone(), p.letters), (vec![25], true));
        let p = parse_permutation("[9] > [1]", 2);
        assert_eq!((p.out_of_range.clone(), p.letters), (vec![8], false));
        for text in ["", "no idea", "[²] > [¹]", "   "] {
            let p = parse_permutation(text, 3);
            assert!(!p.letters && p.parsed == 0, "{text:?}: {p:?}");
        }
    }

    #[test]
    fn huge_numbers_do_not_overflow() {
        let p = parse_permutation("[99999999999999999999999999] > [1]", 2);
        assert_eq!(p.order, vec![0, 1]);
        assert_eq!(p.out_of_range, vec![i64::MAX - 1]);
    }
}
