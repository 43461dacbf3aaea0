"""Instruments as data plus pure scoring, and the trial protocol.

Nothing in this package imports Flask, a database, Twilio or APScheduler: it is the pure
core that the web forms, the import, the export and the report all score with.
"""
from questionnaires.base import N_, AnswerError, Instrument
from questionnaires.medication import MEDICATION
from questionnaires.odi import ODI
from questionnaires.satisfaction import SATISFACTION
from questionnaires.vas import VAS

INSTRUMENTS: dict[str, Instrument] = {
    instrument.id: instrument for instrument in (VAS, ODI, SATISFACTION, MEDICATION)
}

__all__ = ["AnswerError", "Instrument", "INSTRUMENTS", "N_", "VAS", "ODI", "SATISFACTION", "MEDICATION"]
