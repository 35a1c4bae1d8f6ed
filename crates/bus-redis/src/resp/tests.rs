#![allow(clippy::unwrap_used)]

use bytes::Bytes;

use super::*;

/// An `XREADGROUP` reply of one stream with two entries, the second trimmed away.
const READ: &[u8] = b"*1\r\n*2\r\n$6\r\nevents\r\n*2\r\n\
    *2\r\n$3\r\n1-0\r\n*4\r\n$3\r\nkey\r\n$5\r\nu:BTC\r\n$7\r\npayload\r\n$3\r\n\x00\r\n\r\n\
    *2\r\n$3\r\n2-0\r\n*-1\r\n";

fn bulk(s: &[u8]) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(s))
}

#[test]
fn requests_are_arrays_of_bulk_strings() {
    let mut request = Request::new("XACK");
    request.arg("s").arg(b"\r\n".as_slice()).num(42);
    let mut out = Vec::new();
    request.write_to(&mut out);
    assert_eq!(
        out,
        b"*4\r\n$4\r\nXACK\r\n$1\r\ns\r\n$2\r\n\r\n\r\n$2\r\n42\r\n".to_vec()
    );
}

#[test]
fn pipelines_write_each_command_with_its_count() {
    let mut pipeline = Pipeline::default();
    pipeline.command(2).arg("PING").arg("a");
    pipeline.command(1).arg("PING");
    assert_eq!(pipeline.commands(), 2);
    assert_eq!(
        pipeline.bytes(),
        b"*2\r\n$4\r\nPING\r\n$1\r\na\r\n*1\r\n$4\r\nPING\r\n"
    );
}

#[test]
fn a_reply_is_complete_only_once_its_last_byte_arrived() {
    for cut in 0..READ.len() {
        let mut scan = Scan::default();
        assert_eq!(scan.advance(&READ[..cut]).unwrap(), None, "cut at {cut}");
        // The same scan continues once the rest arrives, followed by the next reply.
        let mut more = READ.to_vec();
        more.extend_from_slice(b":7\r\n");
        assert_eq!(
            scan.advance(&more).unwrap(),
            Some(READ.len()),
            "cut at {cut}"
        );
    }
}

#[test]
fn a_split_reply_keeps_its_strings_in_the_one_buffer() {
    let frame = Bytes::from_static(READ);
    let reply = split(&frame).unwrap();
    let expected = Reply::Array(vec![Reply::Array(vec![
        bulk(b"events"),
        Reply::Array(vec![
            Reply::Array(vec![
                bulk(b"1-0"),
                Reply::Array(vec![
                    bulk(b"key"),
                    bulk(b"u:BTC"),
                    bulk(b"payload"),
                    bulk(b"\x00\r\n"),
                ]),
            ]),
            Reply::Array(vec![bulk(b"2-0"), Reply::Nil]),
        ]),
    ])]);
    assert_eq!(reply, expected);
    let Reply::Array(streams) = &reply else {
        unreachable!()
    };
    let Reply::Array(stream) = &streams[0] else {
        unreachable!()
    };
    let Reply::Bulk(name) = &stream[0] else {
        unreachable!()
    };
    let inside = frame.as_ptr() as usize..frame.as_ptr() as usize + frame.len();
    assert!(inside.contains(&(name.as_ptr() as usize)));
}

#[test]
fn scalars_and_nested_errors_are_values() {
    let frame = Bytes::from_static(b"*5\r\n+OK\r\n:-12\r\n$-1\r\n$0\r\n\r\n-ERR no\r\n");
    assert_eq!(Scan::default().advance(&frame).unwrap(), Some(frame.len()));
    assert_eq!(
        split(&frame).unwrap(),
        Reply::Array(vec![
            Reply::Simple(Bytes::from_static(b"OK")),
            Reply::Int(-12),
            Reply::Nil,
            bulk(b""),
            Reply::Error("ERR no".to_owned()),
        ])
    );
    assert_eq!(
        ServerError("NOGROUP No such key".to_owned()).code(),
        "NOGROUP"
    );
}

#[test]
fn malformed_replies_are_errors_not_waits() {
    for bad in [
        b"!3\r\nabc\r\n".as_slice(),
        b"$3\r\nabcd\r\n",
        b"*-2\r\n",
        b":1\rx",
        b"\r\n",
        b"$abc\r\n",
        &[b':'; 100],
    ] {
        assert!(
            Scan::default().advance(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    assert!(split(&Bytes::from_static(b":1\r\n:2\r\n")).is_err());
    assert!(split(&Bytes::from_static(b"*2\r\n:1\r\n")).is_err());
}

#[test]
fn a_long_error_line_split_across_reads_is_waited_for() {
    let line = format!("-WRONGTYPE {}\r\n", "x".repeat(200));
    let mut scan = Scan::default();
    assert_eq!(scan.advance(&line.as_bytes()[..150]).unwrap(), None);
    assert_eq!(scan.advance(line.as_bytes()).unwrap(), Some(line.len()));
}

#[test]
fn a_runaway_reply_is_refused() {
    let huge = format!("${}\r\n", MAX_REPLY + 1);
    assert!(Scan::default().advance(huge.as_bytes()).is_err());
}
