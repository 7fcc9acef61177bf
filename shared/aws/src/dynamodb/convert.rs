//! Conversion between the port's [`Value`] and DynamoDB's `AttributeValue`.
//!
//! Numbers are stored as DynamoDB `N` holding the decimal text of an `i64`; a stored number that
//! is not an `i64` (a fraction, or beyond 64 bits) is reported as [`StoreError::Corrupt`], as are
//! attribute types the port does not model (string, number and binary sets).

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use mkpf_core::ports::{Item, StoreError, Value};

/// The wire form of an item.
pub(crate) type AvMap = HashMap<String, AttributeValue>;

pub(crate) fn to_av(v: &Value) -> AttributeValue {
    match v {
        Value::S(s) => AttributeValue::S(s.clone()),
        Value::N(n) => AttributeValue::N(n.to_string()),
        Value::B(b) => AttributeValue::B(Blob::new(b.clone())),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Null => AttributeValue::Null(true),
        Value::L(l) => AttributeValue::L(l.iter().map(to_av).collect()),
        Value::M(m) => AttributeValue::M(m.iter().map(|(k, v)| (k.clone(), to_av(v))).collect()),
    }
}

pub(crate) fn item_to_av(item: &Item) -> AvMap {
    item.iter().map(|(k, v)| (k.clone(), to_av(v))).collect()
}

/// Converts one stored value; `attr` names the top-level attribute for error messages.
pub(crate) fn from_av(attr: &str, av: &AttributeValue) -> Result<Value, StoreError> {
    Ok(match av {
        AttributeValue::S(s) => Value::S(s.clone()),
        AttributeValue::N(n) => Value::N(
            n.parse::<i64>()
                .map_err(|_| StoreError::Corrupt(format!("attribute {attr}: number is not a 64-bit integer")))?,
        ),
        AttributeValue::B(b) => Value::B(b.as_ref().to_vec()),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(l) => Value::L(l.iter().map(|v| from_av(attr, v)).collect::<Result<_, _>>()?),
        AttributeValue::M(m) => {
            Value::M(m.iter().map(|(k, v)| Ok((k.clone(), from_av(attr, v)?))).collect::<Result<_, StoreError>>()?)
        }
        _ => return Err(StoreError::Corrupt(format!("attribute {attr}: unsupported DynamoDB type"))),
    })
}

pub(crate) fn item_from_av(m: &AvMap) -> Result<Item, StoreError> {
    m.iter().map(|(k, v)| Ok((k.clone(), from_av(k, v)?))).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn values_round_trip() {
        let mut m = BTreeMap::new();
        m.insert("k".to_owned(), Value::L(vec![Value::N(i64::MIN), Value::Null, Value::B(vec![0, 255])]));
        let v = Value::M(m);
        assert_eq!(from_av("a", &to_av(&v)).unwrap(), v);
        assert_eq!(to_av(&Value::N(-42)), AttributeValue::N("-42".into()));
    }

    #[test]
    fn non_integer_numbers_are_corrupt() {
        for n in ["1.5", "9223372036854775808", "1e3", ""] {
            let e = from_av("amount", &AttributeValue::N(n.into())).unwrap_err();
            assert!(matches!(e, StoreError::Corrupt(ref m) if m.contains("amount")), "{n}: {e:?}");
        }
        let e = from_av("tags", &AttributeValue::Ss(vec!["a".into()])).unwrap_err();
        assert!(matches!(e, StoreError::Corrupt(_)));
    }
}
