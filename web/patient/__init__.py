from web.patient.routes import bp

__all__ = ["bp"]
