"""Measurement-based care: one series seen whole and the "not on track" signal (series), item 9 follow-up
(follow_up) and process changes noted on the charts (chart_notes)."""
