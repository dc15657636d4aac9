"""A stand-in for Romania's ANAF web services, for the tests: OAuth2 tokens,
RO e-Factura (upload, stareMesaj, descarcare) and the VAT payer register
(PlatitorTvaRest v9). Every uploaded invoice or credit note is checked with
the official rules (EN 16931 + CIUS-RO 1.0.9, the XSLT in
tests/fixtures/efactura/, run with saxonche), as ANAF checks it.

    python anaf_standin.py PORT

It listens only once the rules are compiled (about a second).

OAuth2
    POST /anaf-oauth2/v1/token   grant_type=refresh_token&refresh_token=…&client_id=…&client_secret=…
        (client id/secret as form fields or HTTP Basic). A refresh token is good once: `seed-…`
        (any) or one this stand-in issued; using it spends it. Answers a new access token
        (`at-…`, good until the stand-in stops) and a new refresh token (`rt-…`).

e-Factura, under any prefix ending in /FCTEL/rest/ (…/test/FCTEL/rest, …/prod/FCTEL/rest),
with `Authorization: Bearer <an access token issued here>` (else 401):
    POST …/upload?standard=UBL|CN|CII|RASP&cif=…   (and …/uploadb2c): the XML as the body
    GET  …/stareMesaj?id_incarcare=…                `in prelucrare`, then `ok` / `nok`
    GET  …/descarcare?id=…                          the answer ZIP
  An accepted upload ends `nok` when the official XSLT reports a fatal failure, when `cif`
  is not the seller's CUI (the buyer's with autofactura=DA), or when the root does not fit
  `standard` (UBL: Invoice, CN: CreditNote). CII and RASP documents are only checked for
  being well-formed (and CII for its root): there are no CII rules here.

VAT payer register
    POST /api/PlatitorTvaRest/v9/tva   [{"cui": 18547290, "data": "2026-12-07"}, …]  (≤ 100)
  Built-in register (every CUI with a valid check digit):
    18547290  Ştefănescu & Fiii Distribuţie S.R.L.  Bucureşti, sector 3 (RO-B)   VAT payer since 2006-04-01
    28612344  Someşul Librării S.R.L.               Cluj-Napoca (RO-CJ)          VAT payer since 2011-01-01
    30987656  Ţesătoria Moldovei Artizanat S.R.L.   Iaşi (RO-IS)                 not a VAT payer
    41277530  Bârsa Construcţii S.R.L.              Braşov (RO-BV)               inactive; VAT payer 2019-2023 only
  Whether a company is a VAT payer depends on the asked date (its VAT periods). Names and
  places are spelt as ANAF spells them (ş and ţ with a cedilla). Other CUIs: `notFound`.

Test controls (no auth; state is global: tests use their own CUIs and ids)
    POST /_config/refuse            {"count": 1, "errors": ["E: [BR-RO-XXX] …"]}  the next
                                    `count` accepted uploads end `nok` with these errors
    POST /_config/processing_polls  {"polls": N}   stareMesaj answers `in prelucrare` N times
                                    (default 1), then the final state
    POST /_config/unprocessable     {"count": 1}   the next uploads end in
                                    `XML cu erori nepreluat de sistem` (no answer to download)
    POST /_config/register_down     {"down": true}  the VAT register answers 503
    POST /_config/expire_tokens     every access token issued so far stops working (401)
    POST /_config/reset             the controls back to their defaults (tokens and uploads stay)
    GET  /_log                      every upload: index, cif, standard, b2c, state
                                    (processing|ok|nok|failed), errors, warnings, root,
                                    invoice_id, id_descarcare
    POST /_validate                 an XML body -> {"fatal": ["[BR-…] …"], "warnings": […]}
"""
import base64
import hashlib
import io
import json
import os
import re
import sys
import tempfile
import threading
import traceback
import uuid
import xml.etree.ElementTree as ET
import zipfile
from datetime import date, datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import quoteattr

from saxonche import PySaxonProcessor

XSLT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "efactura",
                    "EN16931-CIUS_RO-UBL-validation-1.0.9.xslt")

try:
    from zoneinfo import ZoneInfo
    RO_TZ = ZoneInfo("Europe/Bucharest")
except Exception:  # no time zone data: UTC will do
    RO_TZ = timezone.utc

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
CAC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"
CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
SVRL = "{http://purl.oclc.org/dsdl/svrl}"
MAX_UPLOAD = 10 * 1024 * 1024  # ANAF's limit

XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


# --- the official rules -------------------------------------------------------------------

class Rules:
    """The EN 16931 + CIUS-RO XSLT, compiled once. SaxonC processors are not
    thread-safe: one transform at a time."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.proc = PySaxonProcessor(license=False)
        self.exe = self.proc.new_xslt30_processor().compile_stylesheet(stylesheet_file=os.path.abspath(path))

    def check(self, data):
        """(fatal, warnings) for a UBL Invoice or CreditNote (bytes), each "[RULE-ID] text".
        A rule breaks when an assert fails (`failed-assert`) or a report fires
        (`successful-report`, which BR-RO-100/101/110/111/… use); its `flag` says
        whether it is fatal (ANAF refuses the document) or a warning."""
        # a file keeps the document's bytes (and its declared encoding) as they are
        fd, path = tempfile.mkstemp(prefix="anaf-standin-", suffix=".xml")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            with self.lock:
                svrl = self.exe.transform_to_string(source_file=path)
        finally:
            os.unlink(path)
        fatal, warnings = [], []
        for el in ET.fromstring(svrl.encode("utf-8")).iter():
            if el.tag not in (SVRL + "failed-assert", SVRL + "successful-report"):
                continue
            rule = el.get("id", "?")
            text_el = el.find(SVRL + "text")
            text = " ".join("".join(text_el.itertext() if text_el is not None else el.itertext()).split())
            # the texts start with their id: "[BR-52]-Each …"
            text = re.sub(r"^\[" + re.escape(rule) + r"\]\s*-?\s*", "", text)
            msg = "[%s] %s" % (rule, text)
            target = fatal if el.get("flag", "fatal") == "fatal" else warnings
            if msg not in target:
                target.append(msg)
        return fatal, warnings


RULES = None  # set at start-up, before listening


# --- state -------------------------------------------------------------------------------

LOCK = threading.Lock()
DEFAULTS = {"refuse": 0, "refuse_errors": [], "polls": 1, "unprocessable": 0, "register_down": False}
CONFIG = dict(DEFAULTS)
TOKENS = {"used": set(), "issued": set(), "access": set()}
UPLOADS = {}    # index_incarcare -> upload
DOWNLOADS = {}  # id_descarcare -> upload
COUNTERS = {"upload": 5000, "download": 9000}


def now_ro():
    return datetime.now(RO_TZ)


def date_response():
    return now_ro().strftime("%Y%m%d%H%M")


def cui_digits(value):
    """'RO 18547290' -> 18547290; None when it is not a CUI."""
    if value is None:
        return None
    v = re.sub(r"\s+", "", str(value)).upper()
    if v.startswith("RO"):
        v = v[2:]
    return int(v) if v.isdigit() else None


# --- e-Factura processing ------------------------------------------------------------------

def party_cuis(root, party):
    p = root.find("%s%s/%sParty" % (CAC, party, CAC))
    if p is None:
        return set()
    ids = p.findall("%sPartyTaxScheme/%sCompanyID" % (CAC, CBC)) + p.findall("%sPartyLegalEntity/%sCompanyID" % (CAC, CBC))
    return {c for c in (cui_digits(e.text) for e in ids) if c is not None}


def process(up):
    """Decides an accepted upload: ok or nok (its errors)."""
    errors, warnings = [], []
    try:
        if up["forced"] is not None:
            errors = list(up["forced"])
        elif up["unprocessable"]:
            pass
        else:
            root, std = up["tree"], up["standard"]
            expected = {"UBL": (NS_INVOICE, "Invoice"), "CN": (NS_CREDIT_NOTE, "CreditNote"),
                        "CII": (NS_CII, "CrossIndustryInvoice")}.get(std)
            if expected and root.tag != "{%s}%s" % expected:
                errors.append("E: Fisierul transmis cu standard=%s trebuie sa aiba elementul radacina %s (%s); "
                              "are %s" % (std, expected[1], expected[0], root.tag))
            elif std in ("UBL", "CN"):
                party = "AccountingCustomerParty" if up["autofactura"] else "AccountingSupplierParty"
                found = party_cuis(root, party)
                if up["cif"] not in found:
                    errors.append("E: Nu aveti drept in SPV pentru CIF=%s / CIF introdus in interfata nu corespunde "
                                  "cu CIF %s (%s)" % (up["cif"], "cumparator" if up["autofactura"] else "vanzator",
                                                      ", ".join(str(c) for c in sorted(found)) or "lipsa"))
                fatal, warnings = RULES.check(up["xml"])
                errors.extend(fatal)
    except Exception as e:  # never leave an upload hanging
        traceback.print_exc()
        errors.append("E: eroare interna la validare: %s" % e)
    with LOCK:
        up["errors"], up["warnings"] = errors, warnings
        up["result"] = "failed" if up["unprocessable"] else ("nok" if errors else "ok")
        up["tree"] = None
    up["done"].set()


def upload_header(index=None, error=None):
    if error is not None:
        return (XML_DECL + '<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" dateResponse="%s" ExecutionStatus="1">\n'
                '    <Errors errorMessage=%s/>\n</header>\n' % (date_response(), quoteattr(error)))
    return (XML_DECL + '<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" dateResponse="%s" ExecutionStatus="0" '
            'index_incarcare="%d"/>\n' % (date_response(), index))


def signature(name, data):
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    return (XML_DECL + '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">\n'
            '  <SignedInfo>\n'
            '    <CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>\n'
            '    <SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>\n'
            '    <Reference URI=%s>\n'
            '      <DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>\n'
            '      <DigestValue>%s</DigestValue>\n'
            '    </Reference>\n'
            '  </SignedInfo>\n'
            '  <SignatureValue>anaf-standin:%s</SignatureValue>\n'
            '</Signature>\n' % (quoteattr(name), digest, hashlib.sha256(data).hexdigest())).encode("utf-8")


def answer_zip(up):
    name = "%d.xml" % up["index"]
    if up["result"] == "ok":
        body = up["xml"]
    else:
        body = (XML_DECL + '<header xmlns="mfp:anaf:dgti:efactura:raspunsErori:v1" dateResponse="%s" '
                'Index_incarcare="%d" Cif_emitent="%s">\n' % (up["answered"], up["index"], up["cif"])
                + "".join("    <Error errorMessage=%s/>\n" % quoteattr(e) for e in up["errors"])
                + "</header>\n").encode("utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, body)
        z.writestr("semnatura_" + name, signature(name, body))
    return buf.getvalue()


def state_of(up):
    if up["polls_left"] > 0 or not up["done"].is_set():
        return "processing"
    return up["result"]


# --- the VAT payer register ------------------------------------------------------------------

def _addr(p, street, number, locality, loc_code, county, county_code, county_auto, details, postal):
    return {p + "denumire_Strada": street, p + "numar_Strada": number, p + "denumire_Localitate": locality,
            p + "cod_Localitate": loc_code, p + "denumire_Judet": county, p + "cod_Judet": county_code,
            p + "cod_JudetAuto": county_auto, p + "tara": "", p + "detalii_Adresa": details, p + "cod_Postal": postal}


COMPANIES = {
    18547290: {
        "denumire": "ŞTEFĂNESCU & FIII DISTRIBUŢIE S.R.L.",
        "adresa": "MUNICIPIUL BUCUREŞTI, SECTOR 3, STR. MATEI BASARAB, NR.12, BL.M1, SC.2, AP.14",
        "nrRegCom": "J40/3456/2006", "telefon": "0213456789", "codPostal": "030167",
        "data_inregistrare": "2006-03-14", "cod_CAEN": "4791", "iban": "",
        "statusRO_e_Factura": True,
        "organFiscalCompetent": "Administraţia Sector 3 a Finanţelor Publice",
        "vat": [("2006-04-01", None)], "inactive": None,
        "address": ("Str. Matei Basarab", "12", "Mun. Bucureşti Sec. 3", "179169", "MUNICIPIUL BUCUREŞTI", "40", "B",
                    "Bl. M1, Sc. 2, Ap. 14", "030167"),
    },
    28612344: {
        "denumire": "SOMEŞUL LIBRĂRII S.R.L.",
        "adresa": "JUD. CLUJ, MUN. CLUJ-NAPOCA, STR. MEMORANDUMULUI, NR.28",
        "nrRegCom": "J12/1234/2010", "telefon": "0264123456", "codPostal": "400114",
        "data_inregistrare": "2010-11-22", "cod_CAEN": "4761", "iban": "",
        "statusRO_e_Factura": True,
        "organFiscalCompetent": "Administraţia Judeţeană a Finanţelor Publice Cluj",
        "vat": [("2011-01-01", None)], "inactive": None,
        "address": ("Str. Memorandumului", "28", "Mun. Cluj-Napoca", "54984", "CLUJ", "12", "CJ", "", "400114"),
    },
    30987656: {
        "denumire": "ŢESĂTORIA MOLDOVEI ARTIZANAT S.R.L.",
        "adresa": "JUD. IAŞI, MUN. IAŞI, STR. ALEXANDRU LĂPUŞNEANU, NR.7, BL.A, AP.3",
        "nrRegCom": "J22/789/2015", "telefon": "", "codPostal": "700057",
        "data_inregistrare": "2015-05-18", "cod_CAEN": "1392", "iban": "",
        "statusRO_e_Factura": False,
        "organFiscalCompetent": "Administraţia Judeţeană a Finanţelor Publice Iaşi",
        "vat": [], "inactive": None,
        "address": ("Str. Alexandru Lăpuşneanu", "7", "Mun. Iaşi", "95060", "IAŞI", "22", "IS", "Bl. A, Ap. 3",
                    "700057"),
    },
    41277530: {
        "denumire": "BÂRSA CONSTRUCŢII S.R.L.",
        "adresa": "JUD. BRAŞOV, MUN. BRAŞOV, STR. LUNGĂ, NR.101",
        "nrRegCom": "J08/2211/2019", "telefon": "", "codPostal": "500058",
        "data_inregistrare": "2019-08-05", "cod_CAEN": "4120", "iban": "",
        "statusRO_e_Factura": False,
        "organFiscalCompetent": "Administraţia Judeţeană a Finanţelor Publice Braşov",
        "vat": [("2019-09-01", "2023-06-30")], "inactive": ("2023-06-15", "2023-06-20"),
        "address": ("Str. Lungă", "101", "Mun. Braşov", "40198", "BRAŞOV", "8", "BV", "", "500058"),
    },
}


def company_record(cui, asked):
    c = COMPANIES[cui]
    d = date.fromisoformat(asked)
    periods = [(date.fromisoformat(a), date.fromisoformat(b) if b else None) for a, b in c["vat"]]
    payer = any(a <= d and (b is None or d <= b) for a, b in periods)
    reg = date.fromisoformat(c["data_inregistrare"])
    inactive = c["inactive"]
    return {
        "date_generale": {
            "cui": cui, "data": asked, "denumire": c["denumire"], "adresa": c["adresa"], "nrRegCom": c["nrRegCom"],
            "telefon": c["telefon"], "fax": "", "codPostal": c["codPostal"], "act": "",
            "stare_inregistrare": "INREGISTRAT din data %s" % reg.strftime("%d.%m.%Y"),
            "data_inregistrare": c["data_inregistrare"], "cod_CAEN": c["cod_CAEN"], "iban": c["iban"],
            "statusRO_e_Factura": c["statusRO_e_Factura"], "organFiscalCompetent": c["organFiscalCompetent"],
            "forma_de_proprietate": "PROPR.PRIVATA-CAPITAL PRIVAT AUTOHTON", "forma_organizare": "PERSOANA JURIDICA",
            "forma_juridica": "SOCIETATE COMERCIALĂ CU RĂSPUNDERE LIMITATĂ",
        },
        "inregistrare_scop_Tva": {
            "scpTVA": payer,
            "perioade_TVA": [{"data_inceput_ScpTVA": a, "data_sfarsit_ScpTVA": b or "",
                              "data_anul_imp_ScpTVA": b or "", "mesaj_ScpTVA": "" if not b else
                              "anulare a înregistrarii in scopuri de TVA conform art.316 alin.(11) lit.a)"}
                             for a, b in c["vat"]],
        },
        "inregistrare_RTVAI": {"dataInceputTvaInc": "", "dataSfarsitTvaInc": "", "dataActualizareTvaInc": "",
                               "dataPublicareTvaInc": "", "tipActTvaInc": "", "statusTvaIncasare": False},
        "stare_inactiv": {"dataInactivare": inactive[0] if inactive else "", "dataReactivare": "",
                          "dataPublicare": inactive[1] if inactive else "", "dataRadiere": "",
                          "statusInactivi": bool(inactive) and d >= date.fromisoformat(inactive[0])},
        "inregistrare_SplitTVA": {"dataInceputSplitTVA": "", "dataAnulareSplitTVA": "", "statusSplitTVA": False},
        "adresa_sediu_social": _addr("s", *c["address"]),
        "adresa_domiciliu_fiscal": _addr("d", *c["address"]),
    }


def register_answer(raw):
    try:
        asked = json.loads(raw or b"null")
    except ValueError as e:
        return {"cod": 400, "message": "Cererea nu este un JSON valid: %s" % e}
    if not isinstance(asked, list):
        return {"cod": 400, "message": "Cererea trebuie sa fie o lista de forma [{\"cui\": 123, \"data\": \"AAAA-LL-ZZ\"}]"}
    if len(asked) > 100:
        return {"cod": 400, "message": "Numarul maxim de CUI-uri care pot fi interogate este 100 (cererea are %d)" % len(asked)}
    found, not_found = [], []
    for item in asked:
        if not isinstance(item, dict):
            return {"cod": 400, "message": "Element invalid in cerere: %s" % json.dumps(item)}
        raw_cui, when = item.get("cui"), item.get("data")
        cui = raw_cui if isinstance(raw_cui, int) and not isinstance(raw_cui, bool) else (
            int(raw_cui.strip()) if isinstance(raw_cui, str) and raw_cui.strip().isdigit() else None)
        if cui is None:
            return {"cod": 400, "message": "CUI invalid: %s" % json.dumps(raw_cui)}
        if not isinstance(when, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", when):
            return {"cod": 400, "message": "Data invalida pentru CUI %d: %s (formatul este AAAA-LL-ZZ)" % (cui, json.dumps(when))}
        try:
            date.fromisoformat(when)
        except ValueError:
            return {"cod": 400, "message": "Data invalida pentru CUI %d: %s" % (cui, when)}
        if cui in COMPANIES:
            found.append(company_record(cui, when))
        else:
            not_found.append(cui)
    return {"cod": 200, "message": "SUCCESS", "found": found, "notFound": not_found}


# --- HTTP ------------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", ctype="application/json", headers=()):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self._replied = True
        self.send_response(code)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def json(self, code, obj):
        self.reply(code, json.dumps(obj, ensure_ascii=False).encode("utf-8"), "application/json;charset=UTF-8")

    def xml(self, text):
        self.reply(200, text, "application/xml;charset=UTF-8")

    def body(self):
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_one(self, method):
        self._replied = False
        try:
            raw = self.body() if method == "POST" else b""
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            self.route(method, url.path, query, raw)
        except Exception as e:
            traceback.print_exc()
            if self._replied:
                self.close_connection = True
            else:
                try:
                    self.json(500, {"error": "anaf-standin: %s: %s" % (type(e).__name__, e)})
                except Exception:
                    self.close_connection = True

    def do_GET(self):
        self.handle_one("GET")

    def do_POST(self):
        self.handle_one("POST")

    def do_PUT(self):
        self.handle_one("PUT")

    def do_DELETE(self):
        self.handle_one("DELETE")

    def route(self, method, path, query, raw):
        if path == "/anaf-oauth2/v1/token" and method == "POST":
            return self.token(raw)
        if path == "/api/PlatitorTvaRest/v9/tva" and method == "POST":
            with LOCK:
                down = CONFIG["register_down"]
            if down:
                return self.reply(503, "<html><head><title>503 Service Unavailable</title></head><body>"
                                       "<h1>Service Unavailable</h1></body></html>", "text/html")
            return self.json(200, register_answer(raw))
        if "/FCTEL/rest/" in path:
            op = path.rsplit("/FCTEL/rest/", 1)[1].strip("/")
            routes = {"upload": "POST", "uploadb2c": "POST", "stareMesaj": "GET", "descarcare": "GET"}
            if routes.get(op) != method:
                return self.reply(404, b'{"error":"Not Found"}')
            if not self.authorized():
                return
            if op in ("upload", "uploadb2c"):
                return self.upload(query, raw, op == "uploadb2c")
            if op == "stareMesaj":
                return self.stare(query)
            return self.descarcare(query)
        if path == "/_log" and method == "GET":
            with LOCK:
                log = [{"index": u["index"], "cif": u["cif"], "standard": u["standard"], "b2c": u["b2c"],
                        "state": state_of(u), "errors": list(u["errors"]), "warnings": list(u["warnings"]),
                        "root": u["root"], "invoice_id": u["invoice_id"], "id_descarcare": u["id_descarcare"]}
                       for u in sorted(UPLOADS.values(), key=lambda u: u["index"])]
            return self.json(200, log)
        if path == "/_validate" and method == "POST":
            return self.json(200, validate_doc(raw))
        if path.startswith("/_config/") and method == "POST":
            return self.config(path[len("/_config/"):], raw)
        return self.reply(404, b'{"error":"Not Found"}')

    # OAuth2 --------------------------------------------------------------------------------
    def token(self, raw):
        form = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}
        client = form.get("client_id", "")
        auth = self.headers.get("authorization") or ""
        if auth.lower().startswith("basic "):
            try:
                client = client or base64.b64decode(auth[6:].strip()).decode("utf-8").split(":", 1)[0]
            except Exception:
                pass
        grant = form.get("grant_type", "")
        if not grant:
            return self.json(400, {"error": "invalid_request", "error_description": "Missing grant_type"})
        if grant != "refresh_token":
            return self.json(400, {"error": "unsupported_grant_type",
                                   "error_description": "Unsupported grant type: %s" % grant})
        if not client:
            return self.json(401, {"error": "invalid_client", "error_description": "Bad client credentials"})
        rt = form.get("refresh_token", "")
        if not rt:
            return self.json(400, {"error": "invalid_request", "error_description": "Missing refresh_token"})
        with LOCK:
            good = (rt.startswith("seed-") or rt in TOKENS["issued"]) and rt not in TOKENS["used"]
            if good:
                TOKENS["used"].add(rt)
                access, refresh = "at-%s" % uuid.uuid4(), "rt-%s" % uuid.uuid4()
                TOKENS["access"].add(access)
                TOKENS["issued"].add(refresh)
        if not good:
            return self.json(400, {"error": "invalid_grant", "error_description":
                                   "Invalid refresh token (unknown, or already used: each refresh token is good once)"})
        return self.json(200, {"access_token": access, "token_type": "Bearer", "expires_in": 7776000,
                               "refresh_token": refresh, "refresh_token_expires_in": 31536000})

    def authorized(self):
        auth = self.headers.get("authorization") or ""
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        with LOCK:
            ok = token in TOKENS["access"]
        if not ok:
            self.json(401, {"timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+00:00",
                            "status": 401, "error": "Unauthorized",
                            "message": "Missing bearer token" if not token else "Invalid or expired access token"})
        return ok

    # e-Factura -----------------------------------------------------------------------------
    def upload(self, query, raw, b2c):
        std, cif_raw = query.get("standard", ""), query.get("cif")
        if std not in ("UBL", "CN", "CII", "RASP"):
            return self.xml(upload_header(error="Valorile acceptate pentru parametrul standard sunt UBL, CN, CII sau RASP"))
        if cif_raw is None or cif_raw == "":
            return self.xml(upload_header(error="Parametrul cif este obligatoriu"))
        if not cif_raw.isdigit():
            return self.xml(upload_header(error="CIF introdus= %s nu este un numar" % cif_raw))
        if not raw.strip():
            return self.xml(upload_header(error="Fisierul transmis este gol"))
        if len(raw) > MAX_UPLOAD:
            return self.xml(upload_header(error="Marime fisier transmis mai mare de 10 MB."))
        try:
            tree = ET.fromstring(raw)
        except ET.ParseError as e:
            return self.xml(upload_header(error="Fisierul transmis nu este valid. %s" % e))
        inv_id = tree.find(CBC + "ID")
        with LOCK:
            COUNTERS["upload"] += 1
            forced = None
            if CONFIG["refuse"] > 0:
                CONFIG["refuse"] -= 1
                forced = list(CONFIG["refuse_errors"]) or ["E: [BR-RO-TEST] Document refuzat la cererea testului"]
            unprocessable = False
            if forced is None and CONFIG["unprocessable"] > 0:
                CONFIG["unprocessable"] -= 1
                unprocessable = True
            up = {"index": COUNTERS["upload"], "cif": int(cif_raw), "standard": std, "b2c": b2c,
                  "autofactura": query.get("autofactura", "").upper() == "DA",
                  "root": tree.tag.rsplit("}", 1)[-1], "invoice_id": inv_id.text.strip() if inv_id is not None and inv_id.text else None,
                  "xml": raw, "tree": tree, "forced": forced, "unprocessable": unprocessable,
                  "polls_left": max(0, int(CONFIG["polls"])), "done": threading.Event(),
                  "result": None, "errors": [], "warnings": [], "id_descarcare": None, "answered": None}
            UPLOADS[up["index"]] = up
        threading.Thread(target=process, args=(up,), daemon=True).start()
        return self.xml(upload_header(index=up["index"]))

    def stare(self, query):
        ns = "mfp:anaf:dgti:efactura:stareMesajFactura:v1"
        raw_id = query.get("id_incarcare", "")
        if not raw_id.isdigit():
            return self.xml(XML_DECL + '<header xmlns="%s">\n    <Errors errorMessage=%s/>\n</header>\n'
                            % (ns, quoteattr("Id_incarcare introdus= %s nu este un numar intreg" % raw_id)))
        with LOCK:
            up = UPLOADS.get(int(raw_id))
            waiting = False
            if up is not None:
                if up["polls_left"] > 0:
                    up["polls_left"] -= 1
                    waiting = True
        if up is None:
            return self.xml(XML_DECL + '<header xmlns="%s">\n    <Errors errorMessage=%s/>\n</header>\n'
                            % (ns, quoteattr("Nu exista factura cu id_incarcare= %s" % raw_id)))
        if waiting or not up["done"].wait(60):
            return self.xml(XML_DECL + '<header xmlns="%s" stare="in prelucrare"/>\n' % ns)
        with LOCK:
            if up["result"] == "failed":
                answer = '<header xmlns="%s" stare="XML cu erori nepreluat de sistem"/>\n' % ns
            else:
                if up["id_descarcare"] is None:
                    COUNTERS["download"] += 1
                    up["id_descarcare"] = COUNTERS["download"]
                    up["answered"] = date_response()
                    DOWNLOADS[up["id_descarcare"]] = up
                answer = '<header xmlns="%s" stare="%s" id_descarcare="%d"/>\n' % (ns, up["result"], up["id_descarcare"])
        return self.xml(XML_DECL + answer)

    def descarcare(self, query):
        raw_id = query.get("id", "")
        if not raw_id.isdigit():
            return self.json(200, {"eroare": "Id descarcare introdus= %s nu este un numar intreg" % raw_id,
                                   "titlu": "Descarcare mesaj"})
        with LOCK:
            up = DOWNLOADS.get(int(raw_id))
        if up is None:
            return self.json(200, {"eroare": "Pentru id=%s nu exista inregistrata nici o factura" % raw_id,
                                   "titlu": "Descarcare mesaj"})
        return self.reply(200, answer_zip(up), "application/zip",
                          [("content-disposition", 'attachment; filename="%s.zip"' % raw_id)])

    # test controls ---------------------------------------------------------------------------
    def config(self, what, raw):
        cfg = json.loads(raw or b"{}") if raw.strip() else {}
        with LOCK:
            if what == "refuse":
                CONFIG["refuse"] = int(cfg.get("count", 1))
                CONFIG["refuse_errors"] = [str(e) for e in cfg.get("errors", [])]
            elif what == "processing_polls":
                CONFIG["polls"] = int(cfg.get("polls", 1))
            elif what == "unprocessable":
                CONFIG["unprocessable"] = int(cfg.get("count", 1))
            elif what == "register_down":
                CONFIG["register_down"] = bool(cfg.get("down", True))
            elif what == "expire_tokens":
                TOKENS["access"].clear()
            elif what == "reset":
                CONFIG.clear()
                CONFIG.update(DEFAULTS)
            else:
                return self.reply(404, b'{"error":"Not Found"}')
            current = {k: v for k, v in CONFIG.items()}
        self.json(200, current)


def validate_doc(raw):
    """/_validate: the official rules' verdict on a UBL Invoice or CreditNote."""
    if not raw.strip():
        return {"fatal": ["[XML] empty document"], "warnings": []}
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as e:
        return {"fatal": ["[XML] not well-formed: %s" % e], "warnings": []}
    if root.tag not in ("{%s}Invoice" % NS_INVOICE, "{%s}CreditNote" % NS_CREDIT_NOTE):
        return {"fatal": ["[UBL-ROOT] the root is %s, not a UBL Invoice or CreditNote (the rules would check nothing)"
                          % root.tag], "warnings": []}
    fatal, warnings = RULES.check(raw)
    return {"fatal": fatal, "warnings": warnings}


if __name__ == "__main__":
    RULES = Rules(XSLT)  # compiled before listening: a port that answers is ready
    ThreadingHTTPServer.request_queue_size = 128  # the default 5 resets connections under parallel tests
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
