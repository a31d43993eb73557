"""Wire-format benchmark (single core): seal and open a 2 KB payload to 2 recipients, Avro
encode/decode of a realistic AgencyResponse, full record-level seal/open, and the primitives
that bound them. Run: `python -m benchmarks.crypto [--seconds S]`."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from benchmarks.common import rate, write_results
from hub.codec import Codec
from hub.envelope import Opener, Sealer
from hub.envelope.format import HPKE_SUITE
from hub.keys import KeyRing, KeyStore
from hub.replay import MemorySeenMessages
from hub.samples import Samples

PAYLOAD = os.urandom(2048)


def main() -> None:
    """Measure and write benchmarks/results/crypto.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    store = KeyStore(folder, lambda who: b"bench-" + who.encode())
    store.init(["police", "firewall", "collator"])
    police, firewall = KeyRing.load(store, "police"), KeyRing.load(store, "firewall")
    sealer, codec = Sealer(police), Codec()
    sha = codec.registry.current("mash.Notification").sha256

    def seal_2k() -> bytes:
        return sealer.seal_bytes(
            topic="t",
            schema_name="mash.Notification",
            schema_sha256=sha,
            payload=PAYLOAD,
            recipients=["firewall", "collator"],
            correlation_id="c",
        )[0]

    opener = Opener(firewall, MemorySeenMessages())
    sealed_2k = seal_2k()
    response = Samples().agency_response("POLICE")
    encoded, response_sha = codec.encode("mash.AgencyResponse", response)
    sealed_response, _ = sealer.seal(
        topic="t",
        schema_name="mash.AgencyResponse",
        record=response,
        recipients=["firewall", "collator"],
        correlation_id="c",
    )
    ed, x = Ed25519PrivateKey.generate(), X25519PrivateKey.generate()
    signature = ed.sign(PAYLOAD)
    wrapped = HPKE_SUITE.encrypt(os.urandom(32), x.public_key(), info=b"i")
    s = args.seconds
    figures: dict[str, Any] = {
        "seal_2kb_2_recipients_per_s": rate(seal_2k, s),
        "open_2kb_per_s": rate(lambda: opener.open_bytes(sealed_2k, topic="t"), s),
        "avro_encode_agency_response_per_s": rate(
            lambda: codec.encode("mash.AgencyResponse", response), s
        ),
        "avro_decode_agency_response_per_s": rate(
            lambda: codec.decode("mash.AgencyResponse", encoded, response_sha), s
        ),
        "agency_response_avro_bytes": len(encoded),
        "seal_agency_response_record_per_s": rate(
            lambda: sealer.seal(
                topic="t",
                schema_name="mash.AgencyResponse",
                record=response,
                recipients=["firewall", "collator"],
                correlation_id="c",
            ),
            s,
        ),
        "open_agency_response_record_per_s": rate(
            lambda: opener.open(sealed_response, topic="t", remember=False), s
        ),
        "primitive_ed25519_sign_per_s": rate(lambda: ed.sign(PAYLOAD), s),
        "primitive_ed25519_verify_per_s": rate(
            lambda: ed.public_key().verify(signature, PAYLOAD), s
        ),
        "primitive_hpke_encrypt_per_s": rate(
            lambda: HPKE_SUITE.encrypt(PAYLOAD[:32], x.public_key(), info=b"i"), s
        ),
        "primitive_hpke_decrypt_per_s": rate(lambda: HPKE_SUITE.decrypt(wrapped, x, info=b"i"), s),
        "prototype_reference": {
            "seal_2kb_2_recipients_per_s": 6500,
            "open_2kb_per_s": 9000,
            "ed25519_verify_per_s": 15500,
            "hpke_encrypt_per_s": 15500,
        },
    }
    # What the primitives alone allow per message, measured in this same run.
    seal_bound = 1 / (
        2 / figures["primitive_hpke_encrypt_per_s"] + 1 / figures["primitive_ed25519_sign_per_s"]
    )
    open_bound = 1 / (
        1 / figures["primitive_ed25519_verify_per_s"] + 1 / figures["primitive_hpke_decrypt_per_s"]
    )
    figures["seal_bound_from_primitives_per_s"] = seal_bound
    figures["open_bound_from_primitives_per_s"] = open_bound
    figures["seal_share_of_primitive_bound"] = figures["seal_2kb_2_recipients_per_s"] / seal_bound
    figures["open_share_of_primitive_bound"] = figures["open_2kb_per_s"] / open_bound
    path = write_results("crypto", figures)
    for name, value in figures.items():
        if isinstance(value, float):
            print(f"{name:42} {value:10,.2f}" if value < 10 else f"{name:42} {value:10,.0f}")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
