//! The [`ReducerArg`] trait: the JSON shape ([`ArgType`]) each reducer parameter type accepts,
//! published in the schema so the host can check arguments before a call.

use keel_api::schema::ArgType;

/// Rust types a reducer can take as a parameter. The value itself is decoded with serde.
pub trait ReducerArg {
    /// The JSON shape the host checks arguments against.
    fn arg_type() -> ArgType;
}

macro_rules! integer_arg {
    ($($rust:ty),*) => {
        $(impl ReducerArg for $rust {
            fn arg_type() -> ArgType {
                ArgType::Integer { min: <$rust>::MIN as i64, max: <$rust>::MAX as u64 }
            }
        })*
    };
}

integer_arg!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl ReducerArg for f32 {
    fn arg_type() -> ArgType {
        ArgType::Real
    }
}

impl ReducerArg for f64 {
    fn arg_type() -> ArgType {
        ArgType::Real
    }
}

impl ReducerArg for bool {
    fn arg_type() -> ArgType {
        ArgType::Boolean
    }
}

impl ReducerArg for String {
    fn arg_type() -> ArgType {
        ArgType::Text
    }
}

impl ReducerArg for serde_json::Value {
    fn arg_type() -> ArgType {
        ArgType::Any
    }
}

impl<T: ReducerArg> ReducerArg for Option<T> {
    fn arg_type() -> ArgType {
        ArgType::Optional(Box::new(T::arg_type()))
    }
}

/// `Vec<u8>` is a list of integers `0..=255`, which accepts what `ArgType::Bytes` accepts.
impl<T: ReducerArg> ReducerArg for Vec<T> {
    fn arg_type() -> ArgType {
        ArgType::List(Box::new(T::arg_type()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn integer(min: i64, max: u64) -> ArgType {
        ArgType::Integer { min, max }
    }

    #[test]
    fn integers_carry_their_exact_ranges() {
        assert_eq!(i8::arg_type(), integer(-128, 127));
        assert_eq!(u8::arg_type(), integer(0, 255));
        assert_eq!(i16::arg_type(), integer(-32768, 32767));
        assert_eq!(u16::arg_type(), integer(0, 65535));
        assert_eq!(i32::arg_type(), integer(i32::MIN.into(), i32::MAX as u64));
        assert_eq!(u32::arg_type(), integer(0, u32::MAX.into()));
        assert_eq!(i64::arg_type(), integer(i64::MIN, i64::MAX as u64));
        assert_eq!(u64::arg_type(), integer(0, u64::MAX));
    }

    #[test]
    fn other_types_map_to_their_shapes() {
        assert_eq!(f32::arg_type(), ArgType::Real);
        assert_eq!(f64::arg_type(), ArgType::Real);
        assert_eq!(bool::arg_type(), ArgType::Boolean);
        assert_eq!(String::arg_type(), ArgType::Text);
        assert_eq!(serde_json::Value::arg_type(), ArgType::Any);
        assert_eq!(
            Option::<String>::arg_type(),
            ArgType::Optional(Box::new(ArgType::Text))
        );
        assert_eq!(
            Vec::<Option<bool>>::arg_type(),
            ArgType::List(Box::new(ArgType::Optional(Box::new(ArgType::Boolean))))
        );
        assert_eq!(
            Vec::<u8>::arg_type(),
            ArgType::List(Box::new(integer(0, 255)))
        );
    }
}
