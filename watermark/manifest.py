"""Signed C2PA manifests for audio (c2pa-python), and a development certificate authority.

The manifest states that the clip was created (``c2pa.created``) by a trained algorithm
(IPTC digitalSourceType trainedAlgorithmicMedia), names the generator, and carries our own
assertion ``org.voicegate.provenance`` with the generation id and the SHA-256 of the consent
record (a hash reference, never personal data in clear). An output in a voice that needed no
consent (a stock voice of the engine) has no consent hash; its assertion names the voice instead
(``"voice": "stock voice af_heart"``). c2pa-python embeds manifests in WAV,
MP3, M4A and FLAC; it cannot embed into Ogg.

Trust: a manifest validates cryptographically with any certificate chain; whether the signer is
*trusted* depends on the trust anchors the reader is given (docs/watermark.md explains).
"""
from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SignerConfig", "ManifestInfo", "ManifestReport", "sign_audio", "read_manifest", "generate_dev_ca",
           "MANIFEST_FORMATS", "CLAIM_GENERATOR", "ASSERTION_LABEL"]

CLAIM_GENERATOR = "voicegate/1.0"
ASSERTION_LABEL = "org.voicegate.provenance"
DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
MANIFEST_FORMATS = {"wav": "audio/wav", "mp3": "audio/mpeg", "m4a": "audio/mp4", "flac": "audio/flac"}


class ManifestError(ValueError):
    """The file cannot be signed (unsupported format, bad certificate or key)."""


@dataclass(frozen=True)
class SignerConfig:
    cert_chain: Path  # PEM, leaf first, then intermediates (not the root)
    private_key: Path  # PEM (PKCS#8) key of the leaf
    algorithm: str = "es256"
    timestamp_url: str | None = None


@dataclass(frozen=True)
class ManifestInfo:
    generation_id: str
    consent_sha256: str | None  # hex SHA-256 of the consent record's canonical form; None: no consent was needed
    title: str = "AI-generated speech"
    provider: str = "voicegate"
    watermark_payload: str | None = None  # hex, so a reader can cross-check the audio watermark
    extra: dict[str, Any] = field(default_factory=dict)  # more non-personal fields for our assertion


@dataclass
class ManifestReport:
    present: bool
    valid: bool = False
    trusted: bool = False
    validation_state: str | None = None  # c2pa's: Invalid / Valid / Trusted
    errors: list[str] = field(default_factory=list)  # failure codes, e.g. assertion.dataHash.mismatch
    claim_generator: str | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    assertion: dict[str, Any] | None = None  # ours (org.voicegate.provenance) when present
    signer: str | None = None
    raw: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"present": self.present, "valid": self.valid, "trusted": self.trusted,
                "validation_state": self.validation_state, "errors": self.errors,
                "claim_generator": self.claim_generator, "actions": self.actions,
                "assertion": self.assertion, "signer": self.signer}


def _manifest_definition(info: ManifestInfo) -> dict[str, Any]:
    ours: dict[str, Any] = {"generation_id": info.generation_id}
    if info.consent_sha256:
        ours["consent_record_sha256"] = info.consent_sha256
    ours.update({"hash_algorithm": "sha256", **info.extra})
    if info.watermark_payload:
        ours["watermark_payload"] = info.watermark_payload
    return {
        "claim_generator": CLAIM_GENERATOR,
        "claim_generator_info": [{"name": "voicegate", "version": "1.0"}],
        "title": info.title,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [
                {"action": "c2pa.created", "digitalSourceType": DIGITAL_SOURCE_TYPE,
                 "softwareAgent": {"name": info.provider}}]}},
            {"label": ASSERTION_LABEL, "data": ours},
        ],
    }


def sign_audio(data: bytes, fmt: str, info: ManifestInfo, signer: SignerConfig) -> bytes:
    """Return ``data`` with an embedded, signed C2PA manifest."""
    import c2pa

    fmt = fmt.lower()
    if fmt not in MANIFEST_FORMATS:
        raise ManifestError(f"C2PA manifests cannot be embedded in {fmt!r} files; supported: "
                            f"{', '.join(MANIFEST_FORMATS)}")
    try:
        signer_info = c2pa.C2paSignerInfo(signer.algorithm.encode(), Path(signer.cert_chain).read_bytes(),
                                          Path(signer.private_key).read_bytes(),
                                          signer.timestamp_url.encode() if signer.timestamp_url else None)
        with c2pa.Signer.from_info(signer_info) as c2pa_signer, \
                c2pa.Builder(json.dumps(_manifest_definition(info))) as builder:
            source, dest = io.BytesIO(data), io.BytesIO()
            builder.sign(c2pa_signer, MANIFEST_FORMATS[fmt], source, dest)
            return dest.getvalue()
    except OSError as exc:
        raise ManifestError(f"cannot read the signing certificate or key: {exc}") from exc
    except c2pa.C2paError as exc:
        raise ManifestError(f"C2PA signing failed: {exc}") from exc


def _reader_context(trust_anchors_pem: str | None):
    import c2pa

    if not trust_anchors_pem:
        return None
    settings = c2pa.Settings.from_dict({"verify": {"verify_trust": True},
                                        "trust": {"trust_anchors": trust_anchors_pem}})
    return c2pa.Context(settings)


def read_manifest(data: bytes, fmt: str, *, trust_anchors_pem: str | None = None) -> ManifestReport:
    """Read and validate the embedded manifest. ``trusted`` needs the signer's root in the anchors."""
    import c2pa

    mime = MANIFEST_FORMATS.get(fmt.lower())
    if mime is None:
        return ManifestReport(present=False)
    try:
        context = _reader_context(trust_anchors_pem)
        reader = c2pa.Reader(mime, io.BytesIO(data), context=context) if context else c2pa.Reader(mime, io.BytesIO(data))
        with reader:
            store = json.loads(reader.json())
            state = reader.get_validation_state()
    except c2pa.C2paError as exc:
        text = str(exc)
        if "ManifestNotFound" in type(exc).__name__ or "no JUMBF" in text or "not found" in text.lower():
            return ManifestReport(present=False)
        return ManifestReport(present=True, errors=[text])
    return _report(store, state)


def _report(store: dict[str, Any], state: str | None) -> ManifestReport:
    active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    statuses = store.get("validation_status") or []
    results = store.get("validation_results", {}).get("activeManifest", {})
    failures = [item.get("code", "") for item in results.get("failure", [])] or [s.get("code", "") for s in statuses]
    # Untrusted signers are reported as a failure code; that is about trust, not integrity.
    integrity_errors = [code for code in failures if code and "untrusted" not in code]
    actions: list[dict[str, Any]] = []
    ours = None
    for assertion in active.get("assertions", []):
        label = assertion.get("label", "")
        if label.startswith("c2pa.actions"):
            actions += assertion.get("data", {}).get("actions", [])
        elif label == ASSERTION_LABEL:
            ours = assertion.get("data")
    generator = active.get("claim_generator")
    if not generator and active.get("claim_generator_info"):
        generator = "/".join(str(active["claim_generator_info"][0].get(k, "")) for k in ("name", "version"))
    return ManifestReport(
        present=bool(active), valid=bool(active) and not integrity_errors,
        trusted=(state or "").lower() == "trusted", validation_state=state,
        errors=[code for code in failures if code], claim_generator=generator, actions=actions, assertion=ours,
        signer=(active.get("signature_info") or {}).get("issuer"), raw=store)


# --- development certificate authority -----------------------------------------------------


def generate_dev_ca(directory: str | Path, *, organisation: str = "voicegate development") -> dict[str, str]:
    """Create a local root CA and a C2PA-acceptable leaf under ``directory``; return their paths.

    C2PA refuses self-signed signing certificates: the leaf is issued by the root, has
    digitalSignature key usage, the emailProtection extended key usage (one C2PA accepts), is not a
    CA, and carries subject/authority key identifiers. ``chain.pem`` (leaf + root) and ``leaf.key``
    are what PROVENANCE_CERT_CHAIN / PROVENANCE_PRIVATE_KEY point at; ``root.pem`` is the trust anchor.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                          x509.NameAttribute(NameOID.COMMON_NAME, common)])

    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = name(f"{organisation} root CA")
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(name(f"{organisation} signer")).issuer_name(root_name)
            .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=730))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    paths = {"root_cert": directory / "root.pem", "root_key": directory / "root.key",
             "cert_chain": directory / "chain.pem", "private_key": directory / "leaf.key"}
    private = dict(encoding=pem, format=serialization.PrivateFormat.PKCS8,
                   encryption_algorithm=serialization.NoEncryption())
    paths["root_cert"].write_bytes(root.public_bytes(pem))
    paths["root_key"].write_bytes(root_key.private_bytes(**private))
    paths["cert_chain"].write_bytes(leaf.public_bytes(pem) + root.public_bytes(pem))
    paths["private_key"].write_bytes(leaf_key.private_bytes(**private))
    for key in ("root_key", "private_key"):
        paths[key].chmod(0o600)
    return {k: str(v) for k, v in paths.items()}
