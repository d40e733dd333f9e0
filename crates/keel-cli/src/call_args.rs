//! Turning `keel call` arguments into the JSON array the server expects.

use keel_cli::CliError;
use serde_json::Value;

/// Parses each argument as JSON; a bare word that is not JSON becomes a string, but an argument
/// that starts like JSON (`[`, `{`, `"`) must be valid JSON.
pub(crate) fn parse_call_args(args: &[String]) -> Result<Value, CliError> {
    args.iter()
        .map(|arg| parse_call_arg(arg))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn parse_call_arg(arg: &str) -> Result<Value, CliError> {
    match serde_json::from_str(arg) {
        Ok(value) => Ok(value),
        Err(source) if arg.trim_start().starts_with(['[', '{', '"']) => {
            Err(CliError::InvalidJsonArg {
                arg: arg.to_owned(),
                source,
            })
        }
        Err(_) => Ok(Value::String(arg.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[track_caller]
    fn check(args: &[&str], expected: Value) {
        let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        assert_eq!(parse_call_args(&args).unwrap(), expected);
    }

    #[test]
    fn json_values_are_parsed() {
        check(
            &["5", "-3", "1.5", "true", "null"],
            json!([5, -3, 1.5, true, null]),
        );
        check(
            &["[1, 2]", "{\"a\": [\"b\"]}", "\"quoted\""],
            json!([[1, 2], {"a": ["b"]}, "quoted"]),
        );
        check(&[" 7 "], json!([7]));
    }

    #[test]
    fn bare_words_are_strings() {
        check(
            &["alice", "hello world", "12abc", "tru", ""],
            json!(["alice", "hello world", "12abc", "tru", ""]),
        );
    }

    #[test]
    fn no_arguments_is_an_empty_array() {
        check(&[], json!([]));
    }

    #[test]
    fn broken_json_is_invalid_input() {
        for arg in ["[1,", "{\"a\":}", "\"unterminated", " [x]"] {
            let err = parse_call_args(&[arg.to_owned()]).unwrap_err();
            assert!(
                matches!(&err, CliError::InvalidJsonArg { arg: given, .. } if given == arg),
                "{arg:?}: {err:?}"
            );
            assert_eq!(err.exit_code(), keel_cli::exit_code::INVALID_INPUT);
            assert!(err.to_string().contains(arg), "{err}");
        }
    }
}
