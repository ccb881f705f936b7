//! Discovery against a fake machine: registry, environment and files.

use std::collections::BTreeMap;

use super::*;

#[derive(Default)]
struct Fake {
    vars: BTreeMap<String, String>,
    reg: BTreeMap<(String, String), Result<String, String>>,
    files: BTreeMap<String, Vec<u8>>,
}

impl System for Fake {
    fn var(&self, name: &str) -> Option<String> {
        self.vars
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
    fn hklm_string(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Option<String>, String> {
        self.reg.get(&(key.into(), value.into())).cloned().transpose()
    }
    fn read(&self, path: &str) -> std::io::Result<Vec<u8>> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
}

fn server() -> Fake {
    let mut f = Fake::default();
    for (k, v) in [
        ("SystemDrive", "C:"),
        ("SystemRoot", r"C:\Windows"),
        ("COMPUTERNAME", "EXCH01"),
        ("ExchangeInstallPath", r"E:\Env\V15\"),
    ] {
        f.vars.insert(k.into(), v.into());
    }
    f
}

const APPHOST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <system.applicationHost>
    <sites>
      <site name="Default Web Site" id="1">
        <application path="/"><virtualDirectory path="/" physicalPath="%SystemDrive%\inetpub\wwwroot" /></application>
        <logFile directory="D:\IISLogs\" />
      </site>
      <site name="Exchange Back End" id="2">
        <application path="/"><virtualDirectory path="/" physicalPath="C:\Program Files\Microsoft\Exchange Server\V15\FrontEnd\HttpProxy" /></application>
      </site>
      <siteDefaults>
        <logFile logFormat="W3C" directory="%SystemDrive%\inetpub\logs\LogFiles" />
      </siteDefaults>
    </sites>
  </system.applicationHost>
</configuration>"#;

#[test]
fn install_path_prefers_registry_then_environment_then_default() {
    let mut f = server();
    f.reg.insert(
        (SETUP_KEY.into(), "MsiInstallPath".into()),
        Ok(r"D:\Exchange Server\V15\".into()),
    );
    let l = Layout::discover(&f);
    assert_eq!(l.install, r"D:\Exchange Server\V15");
    assert_eq!(l.install_origin, Origin::Registry);
    assert_eq!(l.exsetup(), r"D:\Exchange Server\V15\Bin\ExSetup.exe");

    let f = server();
    let l = Layout::discover(&f);
    assert_eq!(
        (l.install.as_str(), l.install_origin),
        (r"E:\Env\V15", Origin::Environment)
    );

    let mut f = server();
    f.vars.remove("ExchangeInstallPath");
    let l = Layout::discover(&f);
    assert_eq!(l.install, r"C:\Program Files\Microsoft\Exchange Server\V15");
    assert_eq!(l.install_origin, Origin::Default);
    assert!(l.errors.is_empty());
}

#[test]
fn unreadable_registry_is_named_and_the_environment_used() {
    let mut f = server();
    f.reg.insert(
        (SETUP_KEY.into(), "MsiInstallPath".into()),
        Err("Access is denied. (os error 5)".into()),
    );
    let l = Layout::discover(&f);
    assert_eq!(l.install_origin, Origin::Environment);
    assert_eq!(l.errors.len(), 1);
    assert!(l.errors[0].subject.contains("MsiInstallPath"), "{:?}", l.errors);
    assert!(l.errors[0].message.contains("denied"));
}

#[test]
fn iis_log_folders_come_from_each_site_and_site_defaults_expanded() {
    let mut f = server();
    f.files.insert(
        r"C:\Windows\System32\inetsrv\config\applicationHost.config".into(),
        APPHOST.as_bytes().to_vec(),
    );
    let l = Layout::discover(&f);
    assert_eq!(l.iis_logs, [r"C:\inetpub\logs\LogFiles", r"D:\IISLogs"]);
    assert_eq!(l.iis_logs_origin, Origin::Config);
    assert_eq!(l.event_logs, r"C:\Windows\System32\winevt\Logs");
    assert_eq!(l.computer, "EXCH01");
    assert!(
        l.notes()[1].contains("applicationHost.config"),
        "{:?}",
        l.notes()
    );
}

#[test]
fn missing_or_broken_apphost_falls_back_to_the_default_log_folder() {
    let l = Layout::discover(&server());
    assert_eq!(l.iis_logs, [r"C:\inetpub\logs\LogFiles"]);
    assert_eq!(l.iis_logs_origin, Origin::Default);
    assert!(l.errors.is_empty());

    let mut f = server();
    f.files.insert(
        r"C:\Windows\System32\inetsrv\config\applicationHost.config".into(),
        b"<configuration><sites".to_vec(),
    );
    let l = Layout::discover(&f);
    assert_eq!(l.iis_logs, [r"C:\inetpub\logs\LogFiles"]);
    assert_eq!(l.errors.len(), 1, "a broken file is named: {:?}", l.errors);
    assert!(l.errors[0].subject.contains("applicationHost.config"));
}

#[test]
fn other_system_drive_and_unknown_variables() {
    let mut f = Fake::default();
    f.vars.insert("SystemDrive".into(), "D:".into());
    let l = Layout::discover(&f);
    assert_eq!(l.system_root, r"D:\Windows");
    assert_eq!(l.install, r"D:\Program Files\Microsoft\Exchange Server\V15");
    assert_eq!(l.iis_logs, [r"D:\inetpub\logs\LogFiles"]);
    let lookup = |n: &str| (n == "A").then(|| "x".to_string());
    assert_eq!(expand_vars("%A%\\%B%\\100%", &lookup), "x\\%B%\\100%");
    assert_eq!(expand_vars("%%A%", &lookup), "%x");
}
