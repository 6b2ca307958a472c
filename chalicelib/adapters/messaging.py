"""DynamoDB side of messaging, in one object: what ``MessagingService`` needs of the table.

Each part lives in its own module, with its items and their keys:

====================  ========================  ===============================================
module                class                     what
====================  ========================  ===============================================
``claims.py``         ``DynamoDeliveryClaims``  claim, settle, record a send; quiet-hours deferral
``counters.py``       ``DynamoSendCounters``    the daily cap, held messages, per-channel counts
``contact_items.py``  ``DynamoContactItems``    consents and devices; who shares a phone
``messages.py``       ``DynamoMessages``        conversation messages; once-per-id transactions
``messages.py``       ``DynamoTasks``           tasks for the care team
``timeline.py``       ``DynamoTimeline``        the patient's timeline
``queues.py``         ``SqsOutbound``...        the outbound and due-work queues
====================  ========================  ===============================================

A service that needs one part takes that part's port; ``DynamoMessagingStore`` is every part
at once (the ``MessagingStore`` port of ``services/ports.py`` is their union), for delivery.
"""

from __future__ import annotations

from chalicelib.adapters.claims import DynamoDeliveryClaims
from chalicelib.adapters.contact_items import DynamoContactItems
from chalicelib.adapters.counters import DynamoSendCounters
from chalicelib.adapters.messages import DynamoMessages, DynamoTasks
from chalicelib.adapters.timeline import DynamoTimeline


class DynamoMessagingStore(
    DynamoDeliveryClaims, DynamoSendCounters, DynamoContactItems, DynamoMessages, DynamoTasks, DynamoTimeline
):
    """Claims, counters, contact items, the conversation, tasks and the timeline on one table.

    The parts share no state but the table (``DynamoDeliveryClaims.__init__`` sets it) and
    no method names, so this class adds nothing of its own.
    """
