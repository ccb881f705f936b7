/*
  vigie's own web shell rules, written for vigie from published indicators:
  - Microsoft, "HAFNIUM targeting Exchange Servers with 0-day exploits"
    (2021-03-02) and "Web shell attacks continue to rise" (2021-02-11);
  - Volexity, "Operation Exchange Marauder" (2021-03-02);
  - CISA alert AA21-062A (China Chopper one-liners in Exchange web folders).
  No text was copied from other rule sets. Licence: MIT OR Apache-2.0,
  like vigie. Strings that would look like a live web shell are written
  as regular expressions so this file holds no working shell text.
*/

rule VIGIE_WebShell_ChinaChopper_Script_Tag
{
  meta:
    author = "vigie"
    description = "China Chopper one-liner: a server-side script block that evaluates a request parameter"
    reference = "https://www.microsoft.com/security/blog/2021/03/02/hafnium-targeting-exchange-servers/"
    license = "MIT OR Apache-2.0"
    score = 90
  strings:
    $tag = /<script[^>]{0,80}runat\s*=\s*["']?server/ nocase
    $eval = /eval\s*\(\s*Request(\.Item)?\s*\[/ nocase
    $unsafe = /["']unsafe["']/ nocase
  condition:
    filesize < 2MB and $tag and $eval and $unsafe
}

rule VIGIE_WebShell_ChinaChopper_Page_Directive
{
  meta:
    author = "vigie"
    description = "China Chopper one-liner: a JScript page whose only code evaluates a request parameter"
    reference = "https://www.cisa.gov/news-events/cybersecurity-advisories/aa21-062a"
    license = "MIT OR Apache-2.0"
    score = 90
  strings:
    $page = /<%@\s*Page\s+Language\s*=\s*["']?Jscript/ nocase
    $eval = /<%\s*eval\s*\(\s*Request(\.Item)?\s*\[/ nocase
  condition:
    filesize < 2MB and $page and $eval
}

rule VIGIE_WebShell_OAB_Config_Dump
{
  meta:
    author = "vigie"
    description = "OAB virtual directory settings saved as a page with a script in a URL (CVE-2021-27065 ResetOAB trick)"
    reference = "https://www.volexity.com/blog/2021/03/02/active-exploitation-of-microsoft-exchange-zero-day-vulnerabilities/"
    license = "MIT OR Apache-2.0"
    score = 85
  strings:
    $u1 = "ExternalUrl" ascii wide
    $u2 = "InternalUrl" ascii wide
    $a1 = "InternalAuthenticationMethods" ascii wide
    $a2 = "ExtendedProtectionTokenChecking" ascii wide
    $s = /<script[^>]{0,80}>/ nocase
  condition:
    filesize < 100KB and all of ($u*) and all of ($a*) and $s
}

rule VIGIE_WebShell_ASPX_Process_From_Request
{
  meta:
    author = "vigie"
    description = "ASPX page starting a process (cmd/powershell) with text taken from the request"
    reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    license = "MIT OR Apache-2.0"
    score = 75
  strings:
    $page = /<%@\s*Page/ nocase
    $ps1 = "ProcessStartInfo" nocase
    $ps2 = "Process.Start" nocase
    $sh1 = "cmd.exe" nocase
    $sh2 = "powershell" nocase
    $rq = /Request(\.Form|\.QueryString|\.Params|\.Item)?\s*[\[\(]/ nocase
  condition:
    filesize < 1MB and $page and 1 of ($ps*) and 1 of ($sh*) and $rq
}

rule VIGIE_WebShell_ASPX_Assembly_Loader
{
  meta:
    author = "vigie"
    description = "ASPX page loading a .NET assembly from base64 request data (Godzilla/Behinder-style loader)"
    reference = "https://www.microsoft.com/security/blog/2021/02/11/web-shell-attacks-continue-to-rise/"
    license = "MIT OR Apache-2.0"
    score = 80
  strings:
    $load = /Assembly\s*\.\s*Load\s*\(/ nocase
    $b64 = "FromBase64String" nocase
    $rq = /Request(\.Form|\.BinaryRead|\.InputStream|\.Item)?\s*[\[\(\.]/ nocase
  condition:
    filesize < 1MB and $load and $b64 and $rq
}
