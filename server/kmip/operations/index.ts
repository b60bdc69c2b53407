import { activate } from './activate.js';
import { addAttribute } from './add-attribute.js';
import { create } from './create.js';
import { deleteAttribute } from './delete-attribute.js';
import { destroy } from './destroy.js';
import { discoverVersions } from './discover-versions.js';
import { get } from './get.js';
import { getAttributeList } from './get-attribute-list.js';
import { getAttributes } from './get-attributes.js';
import { locate } from './locate.js';
import { modifyAttribute } from './modify-attribute.js';
import { query } from './query.js';
import { revoke } from './revoke.js';
import type { OperationHandler } from './types.js';

/** Every operation the server offers, listed explicitly (no registration by import side effects). */
export const OPERATIONS: readonly OperationHandler[] = [
  create,
  locate,
  get,
  getAttributes,
  getAttributeList,
  addAttribute,
  modifyAttribute,
  deleteAttribute,
  activate,
  revoke,
  destroy,
  query,
  discoverVersions,
];

export type { OperationHandler } from './types.js';
