use super::*;

const COLUMNS: &[Column] = &[
    shown("time", "TIME"),
    shown("price", "PRICE"),
    machine("note"),
];

fn args(output: Format) -> OutputArgs {
    OutputArgs { output, utc: true }
}

fn rows() -> Vec<Vec<Value>> {
    vec![
        vec![
            Value::Time(UtcMicros(1_796_515_200_000_000)),
            Value::Decimal("116489000.00000000".parse().unwrap()),
            Value::Text("a, \"quoted\"".into()),
        ],
        vec![
            Value::Time(UtcMicros(1_796_515_201_250_000)),
            Value::Decimal("0.5".parse().unwrap()),
            Value::Null,
        ],
    ]
}

fn print(format: Format, shape: Shape) -> String {
    let mut printer = Printer::new(Vec::new(), &args(format), COLUMNS, shape);
    for row in rows() {
        printer.row(row).unwrap();
    }
    let extra = vec![("spread", Json::String("1".into()))];
    String::from_utf8(printer.finish(extra, &["note".into()]).unwrap()).unwrap()
}

#[test]
fn json_is_one_document_with_exact_values() {
    let list: Json = serde_json::from_str(&print(Format::Json, Shape::List)).unwrap();
    assert_eq!(list[0]["price"], "116489000.00000000");
    assert_eq!(list[0]["time"], "2026-12-06T00:00:00.000000Z");
    assert_eq!(list[1]["note"], Json::Null);
    let object: Json = serde_json::from_str(&print(Format::Json, Shape::Object("rows"))).unwrap();
    assert_eq!(object["rows"][1]["price"], "0.5");
    assert_eq!(object["spread"], "1");
    let empty = Printer::new(Vec::new(), &args(Format::Json), COLUMNS, Shape::List);
    let empty: Json = serde_json::from_slice(&empty.finish(Vec::new(), &[]).unwrap()).unwrap();
    assert_eq!(empty, Json::Array(Vec::new()));
}

#[test]
fn ndjson_is_one_object_per_line() {
    let text = print(Format::Ndjson, Shape::List);
    let lines: Vec<Json> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["time"], "2026-12-06T00:00:01.250000Z");
    let object = print(Format::Ndjson, Shape::Object("rows"));
    assert_eq!(object.lines().count(), 1);
}

#[test]
fn csv_has_a_header_and_quotes_what_needs_it() {
    assert_eq!(
        print(Format::Csv, Shape::List),
        "time,price,note\n\
         2026-12-06T00:00:00.000000Z,116489000.00000000,\"a, \"\"quoted\"\"\"\n\
         2026-12-06T00:00:01.250000Z,0.5,\n"
    );
}

#[test]
fn tables_show_people_columns_at_one_scale() {
    assert_eq!(
        print(Format::Table, Shape::List),
        "TIME                              PRICE\n\
         2026-12-06T00:00:00.000Z  116,489,000.0\n\
         2026-12-06T00:00:01.250Z            0.5\n\
         note\n"
    );
}
