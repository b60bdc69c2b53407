/** Errors for attribute edits, each with the reason 2.x names and the one 1.x used (1.4 §11). */
import { KmipError } from '../errors.js';
import { ResultReason } from '../generated/enums.js';

export const attributeReadOnly = (name: string): KmipError =>
  new KmipError(ResultReason.AttributeReadOnly, `attribute ${name} cannot be changed by a client`, { legacyReason: ResultReason.PermissionDenied });

export const attributeSingleValued = (name: string): KmipError =>
  new KmipError(ResultReason.AttributeSingleValued, `attribute ${name} already has its one value`, { legacyReason: ResultReason.IllegalOperation });

export const attributeInstanceNotFound = (name: string): KmipError =>
  new KmipError(ResultReason.AttributeNotFound, `attribute ${name} has no such instance`, { legacyReason: ResultReason.InvalidField });

export const attributeIndexInRequest = (): KmipError =>
  new KmipError(ResultReason.InvalidField, 'Attribute Index must not be given here');
