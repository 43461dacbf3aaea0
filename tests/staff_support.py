"""Signing staff in for Flask tests (like flaskr's AuthActions)."""
from __future__ import annotations

import re

from services import accounts
from storage.connection import open_db

PASSWORD = "correct horse battery staple"
ROLES = ("nurse", "investigator", "admin")
# The default protocol's inclusion criteria: ticked, with no exclusion, a person is eligible.
INCLUSION = ["age_18", "radicular_6m", "failed_medical_6w", "flexion_paresthesia", "vas_5", "slr_no_motor",
             "mri_disc_l3_s1"]
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def create_staff(app, clock, roles=ROLES) -> None:
    db = open_db(app.config["DATABASE"])
    try:
        for role in roles:
            accounts.create_user(db, email=f"{role}@hospital.example", password=PASSWORD, role=role, actor="test",
                                 now=clock())
    finally:
        db.close()


class Staff:
    def __init__(self, client):
        self.client = client

    def csrf(self, path: str = "/staff/login") -> str:
        return CSRF.search(self.client.get(path).get_data(as_text=True)).group(1)

    def login(self, role: str = "nurse", password: str = PASSWORD, email: str | None = None):
        return self.client.post("/staff/login", data={"csrf_token": self.csrf(), "email": email or f"{role}@hospital.example",
                                                      "password": password})

    def post(self, path: str, data: dict, token: str | None = None):
        return self.client.post(path, data={"csrf_token": token or self.csrf("/staff/login"), **data})


def staff_and_list(app, client, clock) -> Staff:
    """One account per role and a randomization list (50 per stratum): the staff pages' setting."""
    from services import allocation

    create_staff(app, clock)
    db = open_db(app.config["DATABASE"])
    try:
        allocation.generate_list(db, seed=1, per_stratum=50, actor="test", now=clock())
    finally:
        db.close()
    return Staff(client)
