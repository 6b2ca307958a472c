"""Patients and staff sign in to separate user pools; each pool is trusted for its own roles only."""

from __future__ import annotations

import contextlib
from typing import Any

from botocore.exceptions import ClientError

from tests.integration.conftest import Api, body


def _pool_issuer(pool: str, client: str) -> Any:
    from chalicelib import bootstrap
    from devstack.identity import CognitoLocalIssuer

    # Every role signed in to this one pool.
    return CognitoLocalIssuer(bootstrap.container().client("cognito-idp"), pool, client, staff=(pool, client))


def test_f9_a_staff_role_signed_in_to_the_patients_pool_is_refused(api: Api, clinic: dict[str, Any]) -> None:
    from chalicelib import bootstrap

    s = bootstrap.container().settings
    with contextlib.suppress(ClientError):  # a misconfigured patients' pool that has an admins group
        bootstrap.container().client("cognito-idp").create_group(GroupName="admins", UserPoolId=s.user_pool_id)
    token = _pool_issuer(s.user_pool_id, s.app_client_ids[0]).token("admin", "a-impostor")

    response = api.call("GET", "/patients/p-1", token=token)

    assert response.status_code == 401
    assert "user pool" in body(response)["detail"]


def test_f9_a_patient_signed_in_to_the_staff_pool_is_refused(api: Api, clinic: dict[str, Any]) -> None:
    from chalicelib import bootstrap

    s = bootstrap.container().settings
    with contextlib.suppress(ClientError):
        bootstrap.container().client("cognito-idp").create_group(GroupName="patients", UserPoolId=s.staff_user_pool_id)
    token = _pool_issuer(str(s.staff_user_pool_id), s.staff_app_client_ids[0]).token("patient", "p-1")

    response = api.call("GET", "/patients/p-1", token=token)

    assert response.status_code == 401
    assert "user pool" in body(response)["detail"]


def test_f9_each_role_signs_in_to_its_own_pool(api: Api, clinic: dict[str, Any]) -> None:
    assert api.call("GET", "/patients/p-1", as_=clinic["p1"]).status_code == 200
    assert api.call("GET", "/patients/p-1", as_=clinic["c1"]).status_code == 200
    assert api.call("GET", "/audit?patient_id=p-1", as_=clinic["admin"]).status_code == 200
