"""Certify one frame end to end: model adapter → sampling → certifier, plus run outputs."""
