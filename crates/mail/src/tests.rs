//! Message building: parts, escaping left to the caller, headers safe.

use super::*;

fn letter() -> Letter {
    Letter {
        to: "soc@alpha.test".into(),
        to_name: "Alpha\r\nBcc: evil@x.test".into(),
        subject: "Exchange servers of Alpha\nBcc: evil@x.test".into(),
        text: "one server".into(),
        html: "<p>one &lt;server&gt;</p>".into(),
        csv_name: "alpha.csv".into(),
        csv: "host,state\r\nmx.alpha.test,vulnerable\r\n".into(),
        message_id: "<n1.abc@vigie.invalid>".into(),
    }
}

#[test]
fn a_letter_has_text_html_and_the_csv_and_no_injected_header() {
    let sender =
        Sender::new("CERT <cert@cert.test>", Some("desk@cert.test")).unwrap();
    let msg = compose(&letter(), &sender).unwrap();
    let raw = String::from_utf8(msg.formatted()).unwrap();
    assert!(raw.contains("multipart/mixed"), "{raw}");
    assert!(raw.contains("multipart/alternative"), "{raw}");
    assert!(raw.contains("text/plain"), "{raw}");
    assert!(raw.contains("text/html"), "{raw}");
    assert!(raw.contains("filename=\"alpha.csv\""), "{raw}");
    assert!(raw.contains("Reply-To: desk@cert.test"), "{raw}");
    assert!(raw.contains("Message-ID: <n1.abc@vigie.invalid>"), "{raw}");
    assert!(
        !raw.lines().any(|l| l.starts_with("Bcc:")),
        "no header injected through names: {raw}"
    );
    let envelope = msg.envelope();
    let to: Vec<String> =
        envelope.to().iter().map(ToString::to_string).collect();
    assert_eq!(to, ["soc@alpha.test"]);
}

#[test]
fn bad_addresses_and_urls_are_refused_without_echoing_secrets() {
    assert!(Sender::new("not an address", None).is_err());
    let mut l = letter();
    l.to = "nobody".into();
    let sender = Sender::new("cert@cert.test", None).unwrap();
    assert!(compose(&l, &sender).is_err());
    let e =
        check_url("smtp://user:hunter2@mail.test:25").unwrap_err().to_string();
    assert!(!e.contains("hunter2"), "{e}");
    assert!(check_url("http://mail.test").is_err());
    assert_eq!(
        check_url("smtp://127.0.0.1:2525").unwrap(),
        SmtpUrl { server: "127.0.0.1:2525".into(), encrypted: false }
    );
    assert!(check_url("smtps://mail.test").unwrap().encrypted);
    assert_eq!(
        check_url("smtps://mail.test").unwrap().server,
        "mail.test:465"
    );
    let login = Login::new("u".into(), "hunter2".into());
    assert!(!format!("{login:?}").contains("hunter2"));
    let e = Smtp::new(
        "smtp://127.0.0.1:2525",
        Some(login),
        Duration::from_secs(1),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("encrypted"), "{e}");
}

#[test]
fn rates_are_intervals() {
    assert_eq!(parse_rate("60/min"), Some(Duration::from_secs(1)));
    assert_eq!(parse_rate("30"), Some(Duration::from_secs(2)));
    assert_eq!(parse_rate("2/s"), Some(Duration::from_millis(500)));
    assert_eq!(parse_rate("6/h"), Some(Duration::from_secs(600)));
    assert_eq!(parse_rate("0/min"), None);
    assert_eq!(parse_rate("x/min"), None);
}
