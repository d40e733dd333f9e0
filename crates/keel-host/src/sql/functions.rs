//! Linear-time versions of SQLite's built-in functions whose running time grows with the
//! product of their arguments' lengths.
//!
//! SQLite checks its progress handler between VM steps, so one function call that does
//! O(n·m) work inside a single step cannot be stopped: `instr` of a 2 MB haystack and a 1 MB
//! needle held a database for half a minute. These replacements, installed on every
//! connection under the built-ins' names and argument counts, keep SQLite's semantics (its
//! own text conversion of numbers, blob handling, NULL rules) and run in time linear in their
//! input: `instr` and `replace` search with `memchr::memmem` (Two-Way), `trim`, `ltrim`,
//! `rtrim` and `unhex` look characters up in a hash set. On text that is not valid UTF-8 the
//! `trim` family may trim differently from SQLite's (which compares every character of the set
//! with the ends); everything else answers exactly as SQLite's own functions. LIKE and GLOB stay SQLite's: their
//! cost is bounded by the pattern length limit (see `connection.rs`).

use std::collections::HashSet;
use std::ffi::{CString, c_int};

use rusqlite::{Connection, ffi};

type ScalarFunction =
    unsafe extern "C" fn(*mut ffi::sqlite3_context, c_int, *mut *mut ffi::sqlite3_value);

/// Trim from the start, the end, or both (SQLite's `flags` of `trimFunc`).
const TRIM_LEFT: usize = 1;
const TRIM_RIGHT: usize = 2;

/// Installs the replacements on `connection`.
pub(crate) fn install(connection: &Connection) -> rusqlite::Result<()> {
    let functions: [(&str, c_int, ScalarFunction, usize); 6] = [
        ("instr", 2, instr, 0),
        ("replace", 3, replace, 0),
        ("trim", 2, trim, TRIM_LEFT | TRIM_RIGHT),
        ("ltrim", 2, trim, TRIM_LEFT),
        ("rtrim", 2, trim, TRIM_RIGHT),
        ("unhex", 2, unhex, 0),
    ];
    for (name, n_args, function, user_data) in functions {
        let c_name = CString::new(name).expect("function names have no NUL");
        // SAFETY: the handle is valid while `connection` lives; the functions only touch the
        // values and context SQLite passes them; `user_data` is a plain integer, never freed.
        let code = unsafe {
            ffi::sqlite3_create_function_v2(
                connection.handle(),
                c_name.as_ptr(),
                n_args,
                ffi::SQLITE_UTF8 | ffi::SQLITE_DETERMINISTIC | ffi::SQLITE_INNOCUOUS,
                user_data as *mut std::ffi::c_void,
                Some(function),
                None,
                None,
                None,
            )
        };
        if code != ffi::SQLITE_OK {
            return Err(rusqlite::Error::SqliteFailure(
                ffi::Error::new(code),
                Some(format!("could not install the linear-time `{name}`")),
            ));
        }
    }
    Ok(())
}

/// The arguments of a call, as a slice.
///
/// # Safety
/// `argv` points to `argc` valid values, as SQLite guarantees for a scalar function.
unsafe fn arguments<'a>(
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) -> &'a [*mut ffi::sqlite3_value] {
    // SAFETY: guaranteed by the caller.
    unsafe { std::slice::from_raw_parts(argv, argc as usize) }
}

/// The value as text (numbers converted the way SQLite converts them), or `None` for NULL
/// (or when SQLite ran out of memory converting it).
///
/// # Safety
/// `value` is a valid value of the current call; the slice lives until the value changes.
unsafe fn text<'a>(value: *mut ffi::sqlite3_value) -> Option<&'a [u8]> {
    // SAFETY: text first, then bytes, as SQLite's documentation asks.
    unsafe {
        let pointer = ffi::sqlite3_value_text(value);
        if pointer.is_null() {
            return None;
        }
        let len = ffi::sqlite3_value_bytes(value) as usize;
        Some(std::slice::from_raw_parts(pointer, len))
    }
}

/// The value's bytes as a blob (an empty blob has no pointer).
///
/// # Safety
/// As for [`text`].
unsafe fn blob<'a>(value: *mut ffi::sqlite3_value) -> &'a [u8] {
    // SAFETY: blob first, then bytes.
    unsafe {
        let pointer = ffi::sqlite3_value_blob(value).cast::<u8>();
        let len = ffi::sqlite3_value_bytes(value) as usize;
        if pointer.is_null() || len == 0 {
            &[]
        } else {
            std::slice::from_raw_parts(pointer, len)
        }
    }
}

/// Sets a text result, or SQLite's "string or blob too big" when it exceeds the length limit.
///
/// # Safety
/// `context` is the current call's context.
unsafe fn result_text(context: *mut ffi::sqlite3_context, bytes: &[u8]) {
    // SAFETY: SQLITE_TRANSIENT makes SQLite copy the bytes before this returns.
    unsafe {
        if bytes.len() > length_limit(context) {
            ffi::sqlite3_result_error_toobig(context);
        } else {
            ffi::sqlite3_result_text(
                context,
                bytes.as_ptr().cast(),
                bytes.len() as c_int,
                ffi::SQLITE_TRANSIENT(),
            );
        }
    }
}

/// The connection's current `SQLITE_LIMIT_LENGTH`.
///
/// # Safety
/// `context` is the current call's context.
unsafe fn length_limit(context: *mut ffi::sqlite3_context) -> usize {
    // SAFETY: a negative new value only reads the limit.
    unsafe {
        let db = ffi::sqlite3_context_db_handle(context);
        ffi::sqlite3_limit(db, ffi::SQLITE_LIMIT_LENGTH, -1).max(0) as usize
    }
}

/// `instr(X, Y)`: the 1-based position of the first `Y` in `X` (characters for text, bytes
/// for two blobs), 0 when absent, NULL when either is NULL.
unsafe extern "C" fn instr(
    context: *mut ffi::sqlite3_context,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: SQLite passes `argc` valid values and a valid context.
    unsafe {
        let args = arguments(argc, argv);
        let (haystack, needle) = (args[0], args[1]);
        let types = (
            ffi::sqlite3_value_type(haystack),
            ffi::sqlite3_value_type(needle),
        );
        if types.0 == ffi::SQLITE_NULL || types.1 == ffi::SQLITE_NULL {
            return;
        }
        let position = if types == (ffi::SQLITE_BLOB, ffi::SQLITE_BLOB) {
            let needle = blob(needle);
            match memchr::memmem::find(blob(haystack), needle) {
                _ if needle.is_empty() => 1,
                Some(index) => index + 1,
                None => 0,
            }
        } else {
            // A blob beside text is read as text; converting a copy leaves the argument as
            // SQLite passed it.
            let haystack_copy = ffi::sqlite3_value_dup(haystack);
            let needle_copy = ffi::sqlite3_value_dup(needle);
            let found = match (text(haystack_copy), text(needle_copy)) {
                (Some(haystack_text), Some(needle_text)) => {
                    Some(text_position(haystack_text, needle_text))
                }
                _ => None,
            };
            ffi::sqlite3_value_free(haystack_copy);
            ffi::sqlite3_value_free(needle_copy);
            match found {
                Some(position) => position,
                None => return ffi::sqlite3_result_error_nomem(context),
            }
        };
        ffi::sqlite3_result_int64(context, position as i64);
    }
}

/// `replace(X, Y, Z)`: every non-overlapping `Y` in `X`, left to right, replaced by `Z`.
unsafe extern "C" fn replace(
    context: *mut ffi::sqlite3_context,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: SQLite passes `argc` valid values and a valid context.
    unsafe {
        let args = arguments(argc, argv);
        let Some(input) = text(args[0]) else { return };
        let Some(pattern) = text(args[1]) else { return };
        if pattern.first().is_none_or(|byte| *byte == 0) {
            return result_text(context, input);
        }
        let Some(replacement) = text(args[2]) else {
            return;
        };
        let limit = length_limit(context);
        let mut output = Vec::with_capacity(input.len().min(limit));
        let mut rest = 0;
        for index in memchr::memmem::find_iter(input, pattern) {
            output.extend_from_slice(&input[rest..index]);
            output.extend_from_slice(replacement);
            rest = index + pattern.len();
            if output.len() > limit {
                return ffi::sqlite3_result_error_toobig(context);
            }
        }
        output.extend_from_slice(&input[rest..]);
        result_text(context, &output);
    }
}

/// `trim(X, Y)`, `ltrim(X, Y)`, `rtrim(X, Y)`: the characters of `Y` removed from the ends.
unsafe extern "C" fn trim(
    context: *mut ffi::sqlite3_context,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: SQLite passes `argc` valid values and a valid context.
    unsafe {
        let args = arguments(argc, argv);
        if ffi::sqlite3_value_type(args[0]) == ffi::SQLITE_NULL {
            return;
        }
        let Some(mut input) = text(args[0]) else {
            return;
        };
        let Some(char_set) = text(args[1]) else {
            return;
        };
        // SQLite reads the set as a C string: up to its first NUL.
        let char_set = char_set.split(|byte| *byte == 0).next().unwrap_or_default();
        let chars = CharSet::new(char_set);
        let sides = ffi::sqlite3_user_data(context) as usize;
        if !char_set.is_empty() {
            if sides & TRIM_LEFT != 0 {
                while let Some(first) = utf8_chars(input).next()
                    && chars.contains(first)
                {
                    input = &input[first.len()..];
                }
            }
            if sides & TRIM_RIGHT != 0 {
                while let Some(last) = last_utf8_char(input)
                    && chars.contains(last)
                {
                    input = &input[..input.len() - last.len()];
                }
            }
        }
        result_text(context, input);
    }
}

/// `unhex(X, Y)`: the blob spelled by the hex digits of `X`, skipping characters of `Y`
/// between digit pairs; NULL when anything else is in the way.
unsafe extern "C" fn unhex(
    context: *mut ffi::sqlite3_context,
    argc: c_int,
    argv: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: SQLite passes `argc` valid values and a valid context.
    unsafe {
        let args = arguments(argc, argv);
        let Some(hex) = text(args[0]) else { return };
        let Some(pass) = text(args[1]) else { return };
        let mut pass_ascii = 0u128;
        let mut pass_others = HashSet::new();
        for code in decode_utf8(pass) {
            if code < 128 {
                pass_ascii |= 1 << code;
            } else {
                pass_others.insert(code);
            }
        }
        // SQLite reads the digits as a C string: up to the first NUL.
        let hex = hex.split(|byte| *byte == 0).next().unwrap_or_default();
        let mut output = Vec::with_capacity(hex.len() / 2 + 1);
        let mut index = 0;
        while index < hex.len() {
            if !hex[index].is_ascii_hexdigit() {
                let (code, len) = decode_one(&hex[index..]);
                let passes = if code < 128 {
                    pass_ascii & (1 << code) != 0
                } else {
                    pass_others.contains(&code)
                };
                if !passes {
                    return;
                }
                index += len;
                continue;
            }
            let Some(low) = hex.get(index + 1).filter(|digit| digit.is_ascii_hexdigit()) else {
                return;
            };
            output.push((hex_value(hex[index]) << 4) | hex_value(*low));
            index += 2;
        }
        ffi::sqlite3_result_blob(
            context,
            output.as_ptr().cast(),
            output.len() as c_int,
            ffi::SQLITE_TRANSIENT(),
        );
    }
}

/// The characters of a `trim` set: ASCII ones in a bitmap, the others hashed.
struct CharSet<'a> {
    ascii: u128,
    others: HashSet<&'a [u8]>,
}

impl<'a> CharSet<'a> {
    fn new(bytes: &'a [u8]) -> CharSet<'a> {
        let mut set = CharSet {
            ascii: 0,
            others: HashSet::new(),
        };
        for char_bytes in utf8_chars(bytes) {
            match char_bytes {
                [byte] if byte.is_ascii() => set.ascii |= 1 << byte,
                _ => {
                    set.others.insert(char_bytes);
                }
            }
        }
        set
    }

    fn contains(&self, char_bytes: &[u8]) -> bool {
        match char_bytes {
            [byte] if byte.is_ascii() => self.ascii & (1 << byte) != 0,
            _ => self.others.contains(char_bytes),
        }
    }
}

/// The 1-based character position of the first `needle` in `haystack`, 0 when absent, as
/// SQLite's `instr` finds it: only at character starts (the first byte, and every byte that is
/// not a UTF-8 continuation byte). A needle that starts like a character is found by memmem
/// at a character start anyway; one that starts with a continuation byte can only match at 0.
fn text_position(haystack: &[u8], needle: &[u8]) -> usize {
    let is_continuation = |byte: u8| (byte & 0xc0) == 0x80;
    let Some(first) = needle.first() else {
        return 1;
    };
    let index = if is_continuation(*first) {
        haystack.starts_with(needle).then_some(0)
    } else {
        memchr::memmem::find(haystack, needle)
    };
    index.map_or(0, |index| {
        // Characters before the match, the first byte counting as one whatever it is.
        1 + haystack[..index]
            .iter()
            .enumerate()
            .filter(|(at, byte)| *at == 0 || !is_continuation(**byte))
            .count()
    })
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

/// The characters of `bytes` as SQLite steps over them (`SQLITE_SKIP_UTF8`): a byte and the
/// continuation bytes after it.
fn utf8_chars(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        let (first, tail) = rest.split_first()?;
        let len = if *first >= 0xc0 {
            1 + tail
                .iter()
                .take_while(|byte| (**byte & 0xc0) == 0x80)
                .count()
        } else {
            1
        };
        let (char_bytes, after) = rest.split_at(len);
        rest = after;
        Some(char_bytes)
    })
}

/// The last character of `bytes`, as [`utf8_chars`] would cut it. (For valid UTF-8 this
/// matches SQLite's suffix comparison exactly; malformed sequences may trim differently.)
fn last_utf8_char(bytes: &[u8]) -> Option<&[u8]> {
    let last = bytes.len().checked_sub(1)?;
    let start = bytes
        .iter()
        .rposition(|byte| (*byte & 0xc0) != 0x80)
        .unwrap_or(last);
    Some(&bytes[start..])
}

/// Code points of `bytes`, decoded the way SQLite's `sqlite3Utf8Read` does.
fn decode_utf8(bytes: &[u8]) -> impl Iterator<Item = u32> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (code, len) = decode_one(rest);
        rest = &rest[len..];
        Some(code)
    })
}

/// One code point and its length in bytes, as `sqlite3Utf8Read` decodes it (lenient: bad
/// sequences become U+FFFD).
fn decode_one(bytes: &[u8]) -> (u32, usize) {
    let lead = bytes[0];
    if lead < 0xc0 {
        return (u32::from(lead), 1);
    }
    let mask = match lead {
        0xc0..=0xdf => 0x1f,
        0xe0..=0xef => 0x0f,
        0xf0..=0xf7 => 0x07,
        0xf8..=0xfb => 0x03,
        0xfc..=0xfd => 0x01,
        _ => 0x00,
    };
    let mut code = u32::from(lead & mask);
    let mut len = 1;
    while let Some(byte) = bytes.get(len).filter(|byte| (**byte & 0xc0) == 0x80) {
        code = (code << 6) + u32::from(byte & 0x3f);
        len += 1;
    }
    if code < 0x80 || (code & 0xffff_f800) == 0xd800 || (code & 0xffff_fffe) == 0xfffe {
        code = 0xfffd;
    }
    (code, len)
}
