#!/usr/bin/env python3
"""Generate HttpProxy + IIS logs of about SIZE GiB with a few known hits.

usage: gen.py OUT_DIR [SIZE_GIB]   (default 2)

Half the bytes go to HttpProxy/{Owa,Ecp,Ews,Mapi} CSV logs with the
Exchange 2016/2019 column set (73 columns, ~600-byte rows, `Smtp~`
anchors and `ServerInfo~<fqdn>` health probes as on real servers, so the
`~` marker alone is no prefilter), half to IIS W3C logs with the default
Exchange field set (~350-byte rows, `&CorrelationID=<empty>;&cafeReqId=`
queries). Files are 256 MiB. Hits are planted every 1,000,000 lines:
HttpProxy `ServerInfo~a]@ex.lab:444/...` anchors; IIS autodiscover.json
SSRF and a fake-crawler POST to /ecp/. Fixed dates and seed: reproducible.
"""
import os, random, sys

out, gib = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
rnd = random.Random(7)
HP_COLS = (
    "DateTime,RequestId,MajorVersion,MinorVersion,BuildVersion,"
    "RevisionVersion,ClientRequestId,Protocol,UrlHost,UrlStem,"
    "ProtocolAction,AuthenticationType,IsAuthenticated,AuthenticatedUser,"
    "Organization,AnchorMailbox,UserAgent,ClientIpAddress,ServerHostName,"
    "HttpStatus,BackEndStatus,ErrorCode,Method,ProxyAction,TargetServer,"
    "TargetServerVersion,RoutingType,RoutingHint,BackEndCookie,"
    "ServerLocatorHost,ServerLocatorLatency,RequestBytes,ResponseBytes,"
    "TargetOutstandingRequests,AuthModulePerfContext,HttpPipelineLatency,"
    "CalculateTargetBackEndLatency,GlsLatencyBreakup,TotalGlsLatency,"
    "AccountForestLatencyBreakup,TotalAccountForestLatency,"
    "ResourceForestLatencyBreakup,TotalResourceForestLatency,ADLatency,"
    "SharedCacheLatencyBreakup,TotalSharedCacheLatency,"
    "ActivityContextLifeTime,ModuleToHandlerSwitchingLatency,"
    "ClientReqStreamLatency,BackendReqInitLatency,BackendReqStreamLatency,"
    "BackendProcessingLatency,BackendRespInitLatency,"
    "BackendRespStreamLatency,ClientRespStreamLatency,"
    "KerberosAuthHeaderLatency,HandlerCompletionLatency,"
    "RequestHandlerLatency,HandlerToModuleSwitchingLatency,ProxyTime,"
    "CoreLatency,RoutingLatency,HttpProxyOverhead,TotalRequestTime,"
    "UrlQuery,BackEndGenericInfo,GenericInfo,GenericErrors,EdgeTraceId,"
    "DatabaseGuid,UserADObjectGuid,PartitionEndpointLookupLatency,"
    "RoutingStatus")
HP_HDR = (HP_COLS + "\r\n#Software: Microsoft Exchange Server\r\n"
          "#Version: 15.01.2176.002\r\n#Log-type: HttpProxy Logs\r\n"
          "#Date: 2021-03-01T00:00:00.000Z\r\n#Fields: " + HP_COLS + "\r\n")
IIS_HDR = ("#Software: Microsoft Internet Information Services 10.0\n"
           "#Version: 1.0\n#Date: 2021-03-01 00:00:00\n"
           "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query "
           "s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status "
           "sc-substatus sc-win32-status time-taken\n")
FILE = 256 << 20
HP_NAMES = HP_COLS.split(",")
# Values of a benign row, filled the way Exchange 2016 CU19 writes them.
DEFAULTS = {c: "0" if c.endswith("Latency") else "" for c in HP_NAMES}
DEFAULTS.update(
    RequestId="5f2c0f4e-8a1b-4c3d-9e7f-0a1b2c3d4e5f", MajorVersion="15",
    MinorVersion="1", BuildVersion="2176", RevisionVersion="2",
    ClientRequestId="5f2c0f4e-8a1b-4c3d-9e7f-0a1b2c3d4e5f", Protocol="Owa",
    UrlHost="mail.lab.example", ProtocolAction="GetItem",
    AuthenticationType="Kerberos", IsAuthenticated="true",
    ServerHostName="EX01", ProxyAction="Proxy",
    TargetServer="ex01.lab.example",
    TargetServerVersion="Version 15.1 (Build 2176.2)", RoutingType="Local",
    RoutingHint="Mailbox-Header",
    BackEndCookie="Database~5f2c0f4e-8a1b-4c3d-9e7f-0a1b2c3d4e5f~~"
    "2021-03-08T00:00:00",
    ServerLocatorHost="ex01.lab.example", RequestBytes="512",
    ResponseBytes="2048", TargetOutstandingRequests="1",
    ProxyTime="14", TotalRequestTime="15",
    BackEndGenericInfo="BeginRequest=2021-03-01T00:00:00.000Z;"
    "CorrelationID=<empty>;ProxyState-Run=None;ServerLocatorCallTime=0",
    GenericInfo="OnBeginRequest=0;OnAuthorizeRequest=0;",
    DatabaseGuid="5f2c0f4e-8a1b-4c3d-9e7f-0a1b2c3d4e5f",
    UserADObjectGuid="5f2c0f4e-8a1b-4c3d-9e7f-0a1b2c3d4e5f",
    RoutingStatus="Success")
PROTOS = ["Owa", "Ecp", "Ews", "Mapi"]
GUID = "5f2c0f4e-8a1b-4c3d-9e7f-0a1b2c3d4e5f"


def hp_line(i, hit):
    t = (f"2021-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:"
         f"{i % 59:02d}.{i % 1000:03d}Z")
    u = f"user{rnd.randrange(5000)}@lab.example"
    ip = f"10.1.{i % 250}.{i % 200}"
    stem, ua, status, method = ("/owa/service.svc",
                                "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                                200, "POST")
    if hit:
        anchor, user = "ServerInfo~a]@ex01.lab.example:444/mapi/emsmdb?", ""
        stem, ua, status, ip = "/ecp/y.js", "ExchangeServicesClient/0.0.0.0", \
            241, "192.0.2.7"
    elif i % 97 == 0:
        # Managed availability probe: ServerInfo~ without a path.
        anchor, user = "ServerInfo~ex01.lab.example", "HealthMailbox@lab"
    else:
        anchor, user = f"Smtp~{u}", u
    row = dict(DEFAULTS)
    row.update(DateTime=t, UrlStem=stem, AuthenticatedUser=user,
               AnchorMailbox=anchor, UserAgent=ua, ClientIpAddress=ip,
               HttpStatus=str(status), BackEndStatus=str(status),
               Method=method, UrlQuery=f"?action=GetItem&app=Mail&n={i % 100}")
    return ",".join(row[c] for c in HP_NAMES) + "\r\n"


def iis_line(i, hit):
    d = f"2021-03-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{i % 59:02d}"
    if hit == 1:
        return (f"{d} 10.0.0.1 GET /autodiscover/autodiscover.json "
                "@x.com/mapi/nspi/?&Email=autodiscover/autodiscover.json%3F"
                "@x.com 443 - 192.0.2.5 python-requests/2.25.1 - 200 0 0 "
                "15\n")
    if hit == 2:
        return (f"{d} 10.0.0.1 POST /ecp/DDI/DDIService.svc/GetList "
                "&CorrelationID=<empty>;&cafeReqId=1; 443 - 192.0.2.6 "
                "DuckDuckBot/1.0;+(+http://duckduckgo.com/duckduckbot.html)"
                " - 500 0 0 31\n")
    return (f"{d} 10.0.0.1 POST /owa/service.svc action=GetItem&ID=-{i % 90}"
            f"&AC=1&CorrelationID=<empty>;&cafeReqId={GUID};&encoding=; 443 "
            f"lab\\user{i % 5000} 10.1.{i % 250}.{i % 200} "
            "Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+"
            "(KHTML,+like+Gecko)+Chrome/88.0.4324.190+Safari/537.36 "
            "https://mail.lab.example/owa/ 200 0 0 "
            f"{i % 300}\n")


def write(kind, budget):
    os.makedirs(out, exist_ok=True)
    n, i, hits = 0, 0, 0
    while budget > 0:
        if kind == "hp":
            sub = os.path.join("HttpProxy", PROTOS[n % len(PROTOS)])
            name = f"HttpProxy_20210301{n:02d}-1.LOG"
        else:
            sub, name = "W3SVC1", f"u_ex2103{n:02d}.log"
        os.makedirs(os.path.join(out, sub), exist_ok=True)
        with open(os.path.join(out, sub, name), "w", newline="") as f:
            f.write(HP_HDR if kind == "hp" else IIS_HDR)
            size = 0
            while size < min(FILE, budget):
                chunk = []
                for _ in range(10000):
                    i += 1
                    hit = 0
                    if i % 1_000_000 == 0:
                        hit = 1
                    elif kind == "iis" and i % 1_000_000 == 500_000:
                        hit = 2
                    hits += hit > 0
                    chunk.append((hp_line if kind == "hp" else iis_line)(i, hit))
                s = "".join(chunk)
                f.write(s)
                size += len(s)
        budget -= size
        n += 1
    print(f"{kind}: {n} files, {i} lines, {hits} hits", file=sys.stderr)


half = int(gib * (1 << 30) / 2)
write("hp", half)
write("iis", half)
