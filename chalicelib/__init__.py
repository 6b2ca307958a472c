"""Carewire: remote patient monitoring and omnichannel care reminders."""
