//! Arrow values as PostgreSQL values: each Arrow type has one PostgreSQL type (integers
//! int2/int4/int8, floats float4/float8, bool, text, date, timestamp[tz]; anything else
//! as its text), in the text or binary format the client asked for.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float32Array, Float64Array, Int16Array,
    Int32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Schema, TimeUnit};
use pgwire::api::portal::Format;
use pgwire::api::results::{DataRowEncoder, FieldInfo};
use pgwire::api::Type;
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;

/// The PostgreSQL type an Arrow type is sent as.
pub fn pg_type(t: &DataType) -> Type {
    match t {
        DataType::Boolean => Type::BOOL,
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => Type::INT2,
        DataType::Int32 | DataType::UInt16 => Type::INT4,
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => Type::INT8,
        DataType::Float16 | DataType::Float32 => Type::FLOAT4,
        DataType::Float64 | DataType::Decimal128(..) | DataType::Decimal256(..) => Type::FLOAT8,
        DataType::Date32 | DataType::Date64 => Type::DATE,
        DataType::Timestamp(_, None) => Type::TIMESTAMP,
        DataType::Timestamp(_, Some(_)) => Type::TIMESTAMPTZ,
        DataType::Dictionary(_, v) => pg_type(v),
        _ => Type::TEXT,
    }
}

/// The Arrow type a column is cast to before its values are sent.
fn wire_arrow_type(t: &DataType) -> DataType {
    let pg = pg_type(t);
    let table = [
        (Type::BOOL, DataType::Boolean),
        (Type::INT2, DataType::Int16),
        (Type::INT4, DataType::Int32),
        (Type::INT8, DataType::Int64),
        (Type::FLOAT4, DataType::Float32),
        (Type::FLOAT8, DataType::Float64),
        (Type::DATE, DataType::Date32),
        (
            Type::TIMESTAMP,
            DataType::Timestamp(TimeUnit::Microsecond, None),
        ),
        (
            Type::TIMESTAMPTZ,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ),
    ];
    table
        .into_iter()
        .find(|(p, _)| *p == pg)
        .map(|(_, a)| a)
        .unwrap_or(DataType::Utf8)
}

/// The row description of a result.
pub fn fields(schema: &Schema, format: &Format) -> Vec<FieldInfo> {
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            FieldInfo::new(
                f.name().clone(),
                None,
                None,
                pg_type(f.data_type()),
                format.format_for(i),
            )
        })
        .collect()
}

fn encode_error(e: impl std::fmt::Display) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_owned(),
        "XX000".to_owned(),
        format!("encoding a result: {e}"),
    )))
}

/// A column as its wire Arrow type (text through Arrow's display where no cast exists).
fn wire_column(col: &ArrayRef) -> PgWireResult<ArrayRef> {
    let target = wire_arrow_type(col.data_type());
    if col.data_type() == &target {
        return Ok(col.clone());
    }
    if let Ok(c) = arrow::compute::cast(col, &target) {
        return Ok(c);
    }
    let fmt = arrow::util::display::ArrayFormatter::try_new(
        col.as_ref(),
        &arrow::util::display::FormatOptions::default(),
    )
    .map_err(encode_error)?;
    let values: StringArray = (0..col.len())
        .map(|i| (!col.is_null(i)).then(|| fmt.value(i).to_string()))
        .collect();
    Ok(Arc::new(values))
}

/// The rows of a batch.
pub fn encode(batch: &RecordBatch, fields: &Arc<Vec<FieldInfo>>) -> Vec<PgWireResult<DataRow>> {
    let cols: Vec<ArrayRef> = match batch.columns().iter().map(wire_column).collect() {
        Ok(c) => c,
        Err(e) => return vec![Err(e)],
    };
    let mut enc = DataRowEncoder::new(fields.clone());
    let mut out = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        for col in &cols {
            if let Err(e) = encode_value(&mut enc, col, row) {
                return vec![Err(e)];
            }
        }
        out.push(Ok(enc.take_row()));
    }
    out
}

fn encode_value(enc: &mut DataRowEncoder, col: &ArrayRef, row: usize) -> PgWireResult<()> {
    let null = col.is_null(row);
    macro_rules! put {
        ($arr:ty, $get:expr) => {{
            let a = col
                .as_any()
                .downcast_ref::<$arr>()
                .expect("cast to the wire type");
            let v = (!null).then(|| $get(a));
            enc.encode_field(&v)
        }};
    }
    match col.data_type() {
        DataType::Boolean => put!(BooleanArray, |a: &BooleanArray| a.value(row)),
        DataType::Int16 => put!(Int16Array, |a: &Int16Array| a.value(row)),
        DataType::Int32 => put!(Int32Array, |a: &Int32Array| a.value(row)),
        DataType::Int64 => put!(Int64Array, |a: &Int64Array| a.value(row)),
        DataType::Float32 => put!(Float32Array, |a: &Float32Array| a.value(row)),
        DataType::Float64 => put!(Float64Array, |a: &Float64Array| a.value(row)),
        DataType::Date32 => put!(Date32Array, |a: &Date32Array| a
            .value_as_date(row)
            .unwrap_or_default()),
        DataType::Timestamp(_, None) => {
            put!(
                TimestampMicrosecondArray,
                |a: &TimestampMicrosecondArray| a.value_as_datetime(row).unwrap_or_default()
            )
        }
        DataType::Timestamp(_, Some(_)) => {
            put!(
                TimestampMicrosecondArray,
                |a: &TimestampMicrosecondArray| a
                    .value_as_datetime(row)
                    .unwrap_or_default()
                    .and_utc()
            )
        }
        _ => {
            let a = col.as_string::<i32>();
            let v = (!null).then(|| a.value(row));
            enc.encode_field(&v)
        }
    }
}

/// A parameter sent in binary format, as the text `query` binds from.
pub fn binary_param(raw: &[u8], ty: &Type) -> PgWireResult<String> {
    let bad = || {
        PgWireError::UserError(Box::new(ErrorInfo::new(
            "ERROR".to_owned(),
            "22P03".to_owned(),
            format!("a binary parameter of type {ty} cannot be read: send it as text"),
        )))
    };
    let arr = |n: usize| -> PgWireResult<&[u8]> {
        raw.get(..n).filter(|_| raw.len() == n).ok_or_else(bad)
    };
    let be = |n: usize| -> PgWireResult<&[u8]> { arr(n) };
    if *ty == Type::BOOL {
        return Ok((be(1)?[0] != 0).to_string());
    }
    macro_rules! num {
        ($t:ty, $n:expr) => {
            <$t>::from_be_bytes(be($n)?.try_into().map_err(|_| bad())?).to_string()
        };
    }
    Ok(if *ty == Type::INT2 {
        num!(i16, 2)
    } else if *ty == Type::INT4 {
        num!(i32, 4)
    } else if *ty == Type::INT8 {
        num!(i64, 8)
    } else if *ty == Type::FLOAT4 {
        num!(f32, 4)
    } else if *ty == Type::FLOAT8 {
        num!(f64, 8)
    } else if [
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::UNKNOWN,
    ]
    .contains(ty)
    {
        String::from_utf8(raw.to_vec()).map_err(|_| bad())?
    } else {
        return Err(bad());
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each Arrow type reaches the client as its PostgreSQL type, with its value as
    /// PostgreSQL's text format writes it.
    #[test]
    fn values_in_text_format() {
        let schema = Arc::new(Schema::new(vec![
            arrow::datatypes::Field::new("i", DataType::Int64, true),
            arrow::datatypes::Field::new("f", DataType::Float64, true),
            arrow::datatypes::Field::new("b", DataType::Boolean, true),
            arrow::datatypes::Field::new("s", DataType::Utf8View, true),
            arrow::datatypes::Field::new("d", DataType::Date32, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![Some(-3), None])),
                Arc::new(Float64Array::from(vec![Some(0.1), Some(2.5)])),
                Arc::new(BooleanArray::from(vec![Some(true), Some(false)])),
                Arc::new(arrow::array::StringViewArray::from(vec![Some("a b"), None])),
                Arc::new(Date32Array::from(vec![Some(19_723), None])),
            ],
        )
        .unwrap();
        let f = Arc::new(fields(&schema, &Format::UnifiedText));
        let types: Vec<Type> = f.iter().map(|f| f.datatype().clone()).collect();
        assert_eq!(
            types,
            vec![Type::INT8, Type::FLOAT8, Type::BOOL, Type::TEXT, Type::DATE]
        );
        let rows = encode(&batch, &f);
        assert_eq!(rows.len(), 2);
        let row = rows[0].as_ref().unwrap();
        let mut buf = bytes::BytesMut::new();
        pgwire::messages::Message::encode(row, &mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf);
        for want in ["-3", "0.1", "t", "a b", "2024-01-01"] {
            assert!(text.contains(want), "{want} in {text:?}");
        }
        let row2 = rows[1].as_ref().unwrap();
        let mut buf = bytes::BytesMut::new();
        pgwire::messages::Message::encode(row2, &mut buf).unwrap();
        // Nulls are length -1.
        assert!(buf.windows(4).any(|w| w == [0xff, 0xff, 0xff, 0xff]));
    }

    #[test]
    fn binary_parameters() {
        assert_eq!(binary_param(&7i64.to_be_bytes(), &Type::INT8).unwrap(), "7");
        assert_eq!(
            binary_param(&1.5f64.to_be_bytes(), &Type::FLOAT8).unwrap(),
            "1.5"
        );
        assert_eq!(binary_param(b"gaps", &Type::TEXT).unwrap(), "gaps");
        assert!(binary_param(&[1, 2], &Type::INT8).is_err());
    }
}
