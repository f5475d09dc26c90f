"""The hospital as one coupled SimPy model: A&E (streams, clinician rota, majors spaces,
ambulance handover, leaving before being seen), same-day emergency care, general and acute
beds (with background admissions), discharge (home, IC+ step-down, social care) and IC+
shared by step-up and step-down. See :mod:`sim.services.hospital.model`."""
