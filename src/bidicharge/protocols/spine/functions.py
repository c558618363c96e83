"""SPINE list functions and the identifiers their items are keyed by.

Partial writes, partial notifies and deletes (Restricted Function Exchange, SPINE 1.3.0
Protocol Specification §5.3.4) address list items by their identifier fields. The table
says, per ``…ListData`` function, the name of the item element and its key fields (from the
SPINE resource XSDs / spine-go ``model/*.go`` ``eebus:"key"`` tags).
"""

from __future__ import annotations

from typing import Final

LIST_FUNCTIONS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "loadControlLimitListData": ("loadControlLimitData", ("limitId",)),
    "loadControlLimitDescriptionListData": ("loadControlLimitDescriptionData", ("limitId",)),
    "loadControlLimitConstraintsListData": ("loadControlLimitConstraintsData", ("limitId",)),
    "deviceConfigurationKeyValueListData": ("deviceConfigurationKeyValueData", ("keyId",)),
    "deviceConfigurationKeyValueDescriptionListData": ("deviceConfigurationKeyValueDescriptionData", ("keyId",)),
    "deviceConfigurationKeyValueConstraintsListData": ("deviceConfigurationKeyValueConstraintsData", ("keyId",)),
    "measurementListData": ("measurementData", ("measurementId",)),
    "measurementDescriptionListData": ("measurementDescriptionData", ("measurementId",)),
    "measurementConstraintsListData": ("measurementConstraintsData", ("measurementId",)),
    "electricalConnectionDescriptionListData": ("electricalConnectionDescriptionData", ("electricalConnectionId",)),
    "electricalConnectionParameterDescriptionListData": (
        "electricalConnectionParameterDescriptionData", ("electricalConnectionId", "parameterId")),
    "electricalConnectionPermittedValueSetListData": (
        "electricalConnectionPermittedValueSetData", ("electricalConnectionId", "parameterId")),
    "electricalConnectionCharacteristicListData": (
        "electricalConnectionCharacteristicData", ("electricalConnectionId", "parameterId", "characteristicId")),
    "identificationListData": ("identificationData", ("identificationId",)),
    "timeSeriesListData": ("timeSeriesData", ("timeSeriesId",)),
    "timeSeriesDescriptionListData": ("timeSeriesDescriptionData", ("timeSeriesId",)),
    "timeSeriesConstraintsListData": ("timeSeriesConstraintsData", ("timeSeriesId",)),
    "setpointListData": ("setpointData", ("setpointId",)),
    "setpointDescriptionListData": ("setpointDescriptionData", ("setpointId",)),
    "incentiveTableData": ("incentiveTable", ("tariff",)),
    "incentiveTableDescriptionData": ("incentiveTableDescription", ("tariffDescription",)),
    "incentiveTableConstraintsData": ("incentiveTableConstraints", ("tariff",)),
}
