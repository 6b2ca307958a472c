"""Console sessions in the main table: ``SESSION#<sha256 of the cookie>`` / ``SESSION``, removed by TTL.

``expires_at`` (epoch seconds) is the table's TTL attribute; the service checks
expiry itself on every read.  Tokens arrive already sealed (``FernetTokenCipher``).
"""

from __future__ import annotations

import base64
from typing import Any

from chalicelib.adapters.dynamo import DynamoTable, serialize

SK = "SESSION"


def _pk(key: str) -> str:
    return f"SESSION#{key}"


class DynamoSessionStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def put(self, key: str, row: dict[str, Any], expires_at: int) -> None:
        self.table.put({"pk": _pk(key), "sk": SK, "entity": "console_session", **row, "expires_at": expires_at})

    def get(self, key: str) -> dict[str, Any] | None:
        item = self.table.get(_pk(key), SK)
        if item is None:
            return None
        return {k: v for k, v in item.items() if k not in ("pk", "sk", "entity")}

    def update(self, key: str, changes: dict[str, Any]) -> None:
        names = {f"#a{i}": name for i, name in enumerate(changes)}
        values = serialize({f":v{i}": value for i, value in enumerate(changes.values())})
        # False when the session ended meanwhile (signed out in another tab): nothing to renew.
        self.table.update_if(
            {"pk": _pk(key), "sk": SK},
            UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(changes))),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def delete(self, key: str) -> None:
        self.table.client.delete_item(TableName=self.table.name, Key=serialize({"pk": _pk(key), "sk": SK}))


class FernetTokenCipher:
    """Seals tokens with a key derived (HKDF-SHA256) from the stage's secret, never the secret itself."""

    def __init__(self, secret: bytes) -> None:
        from cryptography.fernet import Fernet
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"carewire console session tokens")
        self._fernet = Fernet(base64.urlsafe_b64encode(derived.derive(secret)))

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, sealed: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as error:
            raise ValueError("sealed under another key") from error
